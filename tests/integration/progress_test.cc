// Progress in the real daemon: tasks' reports in GetFuture and on the
// FollowProgress stream in both pools, the stream's end, the client
// library's progress() and follow(), and futurectl result --progress.
#include <sys/wait.h>

#include <csignal>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "futured/client.h"
#include "futured/errors.h"
#include "futured/future.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_test.h"
#include "tests/integration/program_run.h"

namespace futured::testing {
namespace {

using ::futured::v1::FutureInfo;
using ::testing::HasSubstr;

const std::vector<std::string> kPools = {"thread", "process"};

// At most this many stream messages are read, so no loop is unbounded.
constexpr int kMaxMessages = 100000;

class ProgressTest : public DaemonTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartDaemon(
        /*unix_socket=*/true,
        {"--processes=1", absl::StrCat("--plugin=", PROGRESS_PROBE_PLUGIN),
         absl::StrCat("--plugin=", EXAMPLE_PLUGIN)}));
  }

  // Submits probe.report_and_wait(fraction, message) to `pool`.
  std::string SubmitProbe(const std::string& pool, double fraction,
                          const std::string& message) {
    v1::SubmitRequest request = CallOf(
        "probe.report_and_wait", {NumberValue(fraction), StringValue(message)});
    request.set_pool(pool);
    return MustSubmit(request);
  }

  // Polls GetFuture every 10 ms, for at most 30 s, until it shows progress.
  FutureInfo AwaitProgress(const std::string& id) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    FutureInfo info;
    while (absl::Now() < deadline) {
      info = MustGetFuture(id);
      if (info.has_progress()) return info;
      absl::SleepFor(absl::Milliseconds(10));
    }
    ADD_FAILURE() << "no progress on " << id << ": " << info.ShortDebugString();
    return info;
  }

  // Waits (bounded) until `count` calls wait in the daemon.
  void AwaitWaitingCalls(int count) {
    MustAwaitStats([count](const v1::GetStatsResponse& stats) {
      return stats.waiting_calls() >= count;
    });
  }
};

// Reads a FollowProgress stream of `id` to its end, calling `on_message` on
// each message; returns the messages and sets *status.
std::vector<FutureInfo> FollowStream(
    v1::Executor::Stub& stub, const std::string& id, grpc::Status* status,
    const std::function<void(const FutureInfo&)>& on_message = {}) {
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::FollowProgressRequest request;
  request.set_id(id);
  std::unique_ptr<grpc::ClientReader<FutureInfo>> reader =
      stub.FollowProgress(&context, request);
  std::vector<FutureInfo> messages;
  FutureInfo info;
  while (static_cast<int>(messages.size()) < kMaxMessages &&
         reader->Read(&info)) {
    messages.push_back(info);
    if (on_message) on_message(info);
  }
  if (static_cast<int>(messages.size()) == kMaxMessages) context.TryCancel();
  *status = reader->Finish();
  return messages;
}

TEST_F(ProgressTest, APluginTasksProgressShowsInGetFutureInBothPools) {
  for (const std::string& pool : kPools) {
    SCOPED_TRACE(pool);
    const std::string id = SubmitProbe(pool, 0.25, "a quarter done");
    const FutureInfo info = AwaitProgress(id);
    EXPECT_EQ(info.state(), v1::FUTURE_STATE_RUNNING);
    EXPECT_DOUBLE_EQ(info.progress().fraction(), 0.25);
    EXPECT_EQ(info.progress().message(), "a quarter done");
    EXPECT_GE(TimeFromProto(info.progress().update_time()),
              TimeFromProto(info.start_time()));
    MustCancel(id);
    const FutureInfo done = MustResult(id);
    EXPECT_EQ(done.state(), v1::FUTURE_STATE_CANCELLED);
    // The last report stays with the done future.
    EXPECT_EQ(done.progress().message(), "a quarter done");
  }
}

TEST_F(ProgressTest, ReportsAreClampedAndCut) {
  // (Invalid UTF-8 cannot come in through a proto3 string; utf8_test and
  // worker_progress_test cover its replacement.)
  const std::string id = SubmitProbe("process", 7.5, std::string(1000, 'x'));
  const FutureInfo info = AwaitProgress(id);
  EXPECT_EQ(info.progress().fraction(), 1.0);
  EXPECT_EQ(info.progress().message(), std::string(256, 'x'));
  MustCancel(id);
}

TEST_F(ProgressTest, TheStreamSendsProgressThenEndsWithTheFinalState) {
  for (const std::string& pool : kPools) {
    SCOPED_TRACE(pool);
    const std::string id = SubmitProbe(pool, 0.5, "half way");
    bool cancelled = false;
    grpc::Status status;
    const std::vector<FutureInfo> messages =
        FollowStream(calls_->stub(), id, &status, [&](const FutureInfo& info) {
          // Once the report arrives, end the task: the stream must follow
          // it to its end.
          if (!cancelled && info.has_progress()) {
            cancelled = true;
            MustCancel(id);
          }
        });
    ASSERT_TRUE(status.ok()) << StatusText(status);
    ASSERT_FALSE(messages.empty());
    EXPECT_TRUE(cancelled) << "no message carried the progress";
    const FutureInfo& last = messages.back();
    EXPECT_EQ(last.state(), v1::FUTURE_STATE_CANCELLED);
    EXPECT_TRUE(last.done());
    EXPECT_EQ(last.progress().message(), "half way");
    for (size_t i = 0; i + 1 < messages.size(); ++i) {
      EXPECT_FALSE(messages[i].done()) << "done before the last message";
    }
  }
}

TEST_F(ProgressTest, TightLoopReportsAreCoalescedInBothPools) {
  constexpr int kReports = 200000;
  for (const std::string& pool : kPools) {
    SCOPED_TRACE(pool);
    v1::SubmitRequest request =
        CallOf("probe.report_many", {NumberValue(kReports)});
    request.set_pool(pool);
    const std::string id = MustSubmit(request);
    grpc::Status status;
    const std::vector<FutureInfo> messages =
        FollowStream(calls_->stub(), id, &status);
    ASSERT_TRUE(status.ok()) << StatusText(status);
    EXPECT_LT(messages.size(), static_cast<size_t>(kReports));
    ASSERT_FALSE(messages.empty());
    EXPECT_EQ(messages.back().outcome().value().number_value(), kReports);
  }
}

TEST_F(ProgressTest, TheStreamOfADoneFutureIsOneMessage) {
  const std::string id = MustSubmit(CallOf("echo", {StringValue("x")}));
  MustResult(id);
  grpc::Status status;
  const std::vector<FutureInfo> messages =
      FollowStream(calls_->stub(), id, &status);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].outcome().value().string_value(), "x");
}

TEST_F(ProgressTest, TheStreamRefusesUnknownIdsAndEndsAtItsTimeout) {
  grpc::Status status;
  FollowStream(calls_->stub(), "00000000-0000-4000-8000-000000000000", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  FollowStream(calls_->stub(), "", &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  const std::string id = MustSubmit(CallOf("sleep", {NumberValue(600)}));
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::FollowProgressRequest request;
  request.set_id(id);
  *request.mutable_timeout() = DurationProto(absl::Milliseconds(50));
  std::unique_ptr<grpc::ClientReader<FutureInfo>> reader =
      calls_->stub().FollowProgress(&context, request);
  FutureInfo info;
  int read = 0;
  while (read < kMaxMessages && reader->Read(&info)) ++read;
  EXPECT_GE(read, 1);  // the state at the start
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_FALSE(MustGetFuture(id).done());  // it keeps running
  MustCancel(id);
}

TEST_F(ProgressTest, BuiltInSleepReportsProgress) {
  const std::string id = MustSubmit(CallOf("sleep", {NumberValue(600)}));
  const FutureInfo info = AwaitProgress(id);
  EXPECT_GE(info.progress().fraction(), 0.0);
  EXPECT_LT(info.progress().fraction(), 1.0);
  EXPECT_THAT(info.progress().message(), HasSubstr("of 600 s"));
  MustCancel(id);
}

TEST_F(ProgressTest, TheClientLibraryReadsAndFollowsProgress) {
  futured::Client client(daemon_->address());
  for (const std::string& pool : kPools) {
    SCOPED_TRACE(pool);
    const std::string id = SubmitProbe(pool, 0.75, "three quarters");
    AwaitProgress(id);
    const futured::Future<> future = client.future(id);
    const std::optional<futured::Progress> progress = future.progress();
    ASSERT_TRUE(progress.has_value());
    EXPECT_DOUBLE_EQ(progress->fraction, 0.75);
    EXPECT_EQ(progress->message, "three quarters");

    std::vector<futured::FutureInfo> seen;
    const futured::FutureInfo last = future.follow(
        [&](const futured::FutureInfo& info) {
          seen.push_back(info);
          if (seen.size() == 1) future.cancel();
        },
        absl::Seconds(60));
    EXPECT_EQ(last.state, futured::FutureState::kCancelled);
    ASSERT_FALSE(seen.empty());
    EXPECT_EQ(seen.front().progress->message, "three quarters");
    EXPECT_EQ(seen.back().state, futured::FutureState::kCancelled);
    EXPECT_TRUE(future.cancelled());
  }
}

TEST_F(ProgressTest, TheClientFollowTimesOut) {
  futured::Client client(daemon_->address());
  const std::string id = MustSubmit(CallOf("sleep", {NumberValue(600)}));
  const futured::Future<> future = client.future(id);
  EXPECT_THROW(
      future.follow([](const futured::FutureInfo&) {}, absl::Milliseconds(50)),
      futured::TimeoutError);
  MustCancel(id);
}

TEST_F(ProgressTest, ShutdownEndsAnOpenStreamAndTheDaemonExitsZero) {
  // A task that reports all the time, so the stream is busy writing.
  const std::string id =
      MustSubmit(CallOf("primes.count_below", {NumberValue(1e15)}));
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::FollowProgressRequest request;
  request.set_id(id);
  std::unique_ptr<grpc::ClientReader<FutureInfo>> reader =
      calls_->stub().FollowProgress(&context, request);
  FutureInfo info;
  ASSERT_TRUE(reader->Read(&info));
  AwaitWaitingCalls(1);
  absl::StatusOr<int> wait_status = daemon_->Stop(SIGTERM);
  ASSERT_TRUE(wait_status.ok()) << wait_status.status();
  EXPECT_TRUE(WIFEXITED(*wait_status) && WEXITSTATUS(*wait_status) == 0);
  daemon_.reset();
  int read = 0;
  while (read < kMaxMessages && reader->Read(&info)) ++read;
  // Shutdown cancels the task, and the stream answers its final state and
  // ends OK; unless the drain of waiting calls came first, while a progress
  // message was still in flight, which ends the stream UNAVAILABLE.
  const grpc::Status status = reader->Finish();
  if (status.ok()) {
    EXPECT_TRUE(info.cancelled()) << info.ShortDebugString();
  } else {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << status.error_message();
  }
}

TEST_F(ProgressTest, ClientsCancellingBusyStreamsLeaveTheDaemonWell) {
  constexpr int kRounds = 40;
  for (const std::string& pool : kPools) {
    SCOPED_TRACE(pool);
    v1::SubmitRequest submit =
        CallOf("primes.count_below", {NumberValue(1e15)});
    submit.set_pool(pool);
    const std::string id = MustSubmit(submit);
    for (int round = 0; round < kRounds; ++round) {
      grpc::ClientContext context;
      SetDeadline(&context);
      v1::FollowProgressRequest request;
      request.set_id(id);
      std::unique_ptr<grpc::ClientReader<FutureInfo>> reader =
          calls_->stub().FollowProgress(&context, request);
      FutureInfo info;
      // Leave after a message or two, while progress keeps coming.
      for (int i = 0; i <= round % 2 && reader->Read(&info); ++i) {
      }
      context.TryCancel();
      while (reader->Read(&info)) {
      }
      EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED)
          << "round " << round;
    }
    MustCancel(id);
    EXPECT_EQ(MustResult(id).state(), v1::FUTURE_STATE_CANCELLED);
  }
  // Every stream is gone from the daemon's books.
  MustAwaitStats([](const v1::GetStatsResponse& stats) {
    return stats.waiting_calls() == 0;
  });
}

// Runs `futurectl result --progress ID` in a thread while this thread waits
// for its stream, then cancels the task: deterministic whatever the timing.
ProgramResult FuturectlFollowsToCancel(
    ProgressTest& test, const std::string& address, const std::string& id,
    bool stderr_is_terminal, const std::function<void()>& await_stream,
    const std::function<void()>& cancel) {
  absl::StatusOr<ProgramResult> result;
  std::thread run([&] {
    result = RunProgram(
        {FUTURECTL_BINARY, "--target", address, "result", "--progress", id},
        {.stderr_is_terminal = stderr_is_terminal,
         .timeout = absl::Seconds(60)});
  });
  await_stream();
  cancel();
  run.join();
  EXPECT_TRUE(result.ok()) << result.status();
  return result.value_or(ProgramResult());
}

TEST_F(ProgressTest, FuturectlPrintsProgressAsJsonLinesWhenPiped) {
  const std::string id = SubmitProbe("process", 0.5, "half way");
  AwaitProgress(id);
  const ProgramResult result = FuturectlFollowsToCancel(
      *this, daemon_->address(), id, /*stderr_is_terminal=*/false,
      [this] { AwaitWaitingCalls(1); }, [&] { MustCancel(id); });
  EXPECT_EQ(result.exit_code, 4) << result.err;  // cancelled
  const std::vector<std::string> lines = Lines(result.err);
  ASSERT_GE(lines.size(), 1u) << result.err;
  EXPECT_THAT(lines.front(), HasSubstr("\"progress\":{\"fraction\":0.5,"
                                       "\"message\":\"half way\""));
  EXPECT_THAT(lines.back(), HasSubstr("FUTURE_STATE_CANCELLED"));
  // stdout: the final FutureInfo only, as `result` prints it.
  ASSERT_EQ(Lines(result.out).size(), 1u) << result.out;
  EXPECT_THAT(result.out, HasSubstr("FUTURE_STATE_CANCELLED"));
}

TEST_F(ProgressTest, FuturectlDrawsAProgressBarOnATerminal) {
  const std::string id = SubmitProbe("thread", 0.5, "half way");
  AwaitProgress(id);
  const ProgramResult result = FuturectlFollowsToCancel(
      *this, daemon_->address(), id, /*stderr_is_terminal=*/true,
      [this] { AwaitWaitingCalls(1); }, [&] { MustCancel(id); });
  EXPECT_EQ(result.exit_code, 4) << result.err;
  EXPECT_THAT(result.err, HasSubstr("[###############               ] 50% "
                                    "half way"));
  EXPECT_THAT(result.out, HasSubstr("FUTURE_STATE_CANCELLED"));
}

}  // namespace
}  // namespace futured::testing
