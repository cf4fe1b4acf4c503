// Durable futures: what a daemon accepted survives kill -9 and SIGTERM, on
// the same --state_dir, with the real futured and its real SQLite journal.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_test.h"
#include "tests/integration/program_run.h"

namespace futured::testing {
namespace {

using ::futured::v1::FutureInfo;
using ::futured::v1::SubmitRequest;
using ::testing::HasSubstr;

// A state directory that outlives each daemon of one test.
class JournalTest : public DaemonTest {
 protected:
  JournalTest() {
    char dir[] = "/tmp/futured_journal_it.XXXXXX";
    if (mkdtemp(dir) == nullptr) std::abort();
    dir_ = dir;
  }
  ~JournalTest() override { std::filesystem::remove_all(dir_); }

  std::string state_dir() const { return dir_ + "/state"; }

  // (Re)starts futured on the test's state directory.
  void StartDaemon(std::vector<std::string> flags = {}) {
    flags.push_back("--state_dir=" + state_dir());
    DaemonTest::StartDaemon(/*unix_socket=*/true, std::move(flags));
  }

  // Ends the daemon with `signal` (SIGKILL: as the OOM killer would; 0:
  // waits for it to exit after a signal the test sent).
  void StopDaemon(int signal) {
    calls_.reset();
    absl::StatusOr<int> status = daemon_->Stop(signal);
    ASSERT_TRUE(status.ok()) << status.status();
    if (signal == SIGTERM || signal == 0) {
      EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
    }
    daemon_.reset();
  }

  std::string dir_;
};

SubmitRequest Sleep(double seconds) {
  return CallOf("sleep", {NumberValue(seconds)});
}

SubmitRequest Square(double x) { return CallOf("square", {NumberValue(x)}); }

TEST_F(JournalTest, DoneFuturesAnswerAgainAfterKill9) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  const std::string squared = MustSubmit(Square(7));
  SubmitRequest failing =
      CallOf("fail", {StringValue("ValueError"), StringValue("bad input")});
  const std::string failed = MustSubmit(failing);
  const FutureInfo before = MustResult(squared);
  ASSERT_EQ(MustResult(failed).outcome().error().type(), "ValueError");
  ASSERT_NO_FATAL_FAILURE(StopDaemon(SIGKILL));

  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  const FutureInfo after = MustResult(squared);
  EXPECT_EQ(after.state(), futured::v1::FUTURE_STATE_FINISHED);
  EXPECT_EQ(after.outcome().value().number_value(), 49);
  EXPECT_EQ(after.submit_time().SerializeAsString(),
            before.submit_time().SerializeAsString());
  EXPECT_EQ(after.end_time().SerializeAsString(),
            before.end_time().SerializeAsString());
  const FutureInfo error = MustResult(failed);
  EXPECT_EQ(error.outcome().error().type(), "ValueError");
  EXPECT_EQ(error.outcome().error().message(), "bad input");
}

// One thread, busy with a long sleep: what is queued behind it is pending
// when the daemon goes, and runs after the restart, in order.
class PendingWorkTest : public JournalTest,
                        public ::testing::WithParamInterface<int> {};

TEST_P(PendingWorkTest, PendingFuturesRunAfterTheRestartInOrder) {
  const int signal = GetParam();
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--threads=1", "--shutdown_grace=0s"}));
  const std::string sleeping = MustSubmit(Sleep(3600));
  ASSERT_TRUE(
      calls_->AwaitState(sleeping, futured::v1::FUTURE_STATE_RUNNING).ok());
  std::vector<std::string> queued;
  for (int i = 1; i <= 3; ++i) queued.push_back(MustSubmit(Square(i)));
  ASSERT_NO_FATAL_FAILURE(StopDaemon(signal));

  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--threads=1"}));
  // Running when the daemon went: failed, never silently run again.
  const FutureInfo interrupted = MustResult(sleeping);
  EXPECT_EQ(interrupted.outcome().error().type(), "InterruptedError");
  EXPECT_THAT(interrupted.outcome().error().message(),
              HasSubstr("the daemon stopped while this task was running"));
  absl::Time previous_start = absl::InfinitePast();
  for (int i = 1; i <= 3; ++i) {
    const FutureInfo info = MustResult(queued[i - 1]);
    EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_FINISHED);
    EXPECT_EQ(info.outcome().value().number_value(), i * i);
    const absl::Time start = TimeFromProto(info.start_time());
    EXPECT_GE(start, previous_start) << "run in the order accepted";
    previous_start = start;
  }
}

INSTANTIATE_TEST_SUITE_P(KillAndTerm, PendingWorkTest,
                         ::testing::Values(SIGKILL, SIGTERM),
                         [](const auto& info) {
                           return info.param == SIGKILL ? "Kill9" : "Sigterm";
                         });

// A stop keeps queued work for the next start and brings a task it cut
// short back as interrupted, but what the owner cancels in the grace stays
// cancelled: the queued future (which the stop had cancelled and held back
// just before) and the running one alike.
TEST_F(JournalTest, ACancelInTheShutdownGraceStaysCancelledAfterTheRestart) {
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon({"--threads=1", "--shutdown_grace=120s"}));
  const std::string running = MustSubmit(Sleep(3600));
  ASSERT_TRUE(
      calls_->AwaitState(running, futured::v1::FUTURE_STATE_RUNNING).ok());
  const std::string queued = MustSubmit(Square(3));
  const std::string kept = MustSubmit(Square(4));
  ASSERT_EQ(kill(daemon_->pid(), SIGTERM), 0);
  AwaitNotServing(daemon_->NewChannel());
  EXPECT_EQ(MustCancel(queued).future().state(),
            futured::v1::FUTURE_STATE_CANCELLED);
  EXPECT_EQ(MustCancel(running).future().state(),
            futured::v1::FUTURE_STATE_CANCELLED);
  // The running task stopped: the daemon ends well before its grace.
  ASSERT_NO_FATAL_FAILURE(StopDaemon(0));

  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--threads=1"}));
  EXPECT_EQ(MustResult(queued).state(), futured::v1::FUTURE_STATE_CANCELLED);
  const FutureInfo stopped = MustResult(running);
  EXPECT_EQ(stopped.state(), futured::v1::FUTURE_STATE_CANCELLED)
      << stopped.ShortDebugString();
  // Not cancelled by its owner: run after the restart.
  EXPECT_EQ(MustResult(kept).outcome().value().number_value(), 16);
}

TEST_F(JournalTest, ARequestIdAnswersTheSameFutureAfterARestart) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  SubmitRequest call = Square(5);
  call.set_request_id("order-17");
  const std::string id = MustSubmit(call);
  MustResult(id);
  ASSERT_NO_FATAL_FAILURE(StopDaemon(SIGKILL));

  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  EXPECT_EQ(MustSubmit(call), id);
  SubmitRequest other = Square(6);
  other.set_request_id("order-17");
  std::string other_id;
  EXPECT_EQ(calls_->Submit(other, &other_id).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  futured::v1::GetStatsResponse stats;
  ASSERT_TRUE(calls_->GetStats(&stats).ok());
  EXPECT_EQ(stats.futures(), 1);
}

TEST_F(JournalTest, ADeadlineThatPassedWhileDownIsATimeoutError) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--threads=1"}));
  const std::string sleeping = MustSubmit(Sleep(3600));
  ASSERT_TRUE(
      calls_->AwaitState(sleeping, futured::v1::FUTURE_STATE_RUNNING).ok());
  SubmitRequest call = Square(3);
  *call.mutable_timeout() = DurationProto(absl::Seconds(1));
  const std::string id = MustSubmit(call);
  ASSERT_NO_FATAL_FAILURE(StopDaemon(SIGKILL));
  absl::SleepFor(absl::Seconds(1.5));  // the deadline passes while it is down

  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--threads=1"}));
  const FutureInfo info = MustResult(id);
  EXPECT_EQ(info.outcome().error().type(), "TimeoutError");
  EXPECT_THAT(info.outcome().error().message(),
              HasSubstr("while the daemon was down"));
}

TEST_F(JournalTest, RetentionCountsAcrossARestartAndExpiryIsJournaled) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--retention=2s"}));
  const std::string id = MustSubmit(Square(4));
  MustResult(id);
  ASSERT_NO_FATAL_FAILURE(StopDaemon(SIGKILL));

  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--retention=2s"}));
  FutureInfo info;
  EXPECT_TRUE(calls_->GetFuture(id, &info).ok()) << "kept after the restart";
  grpc::Status status;
  for (int i = 0; i < 300; ++i) {  // at most 30 s
    status = calls_->GetFuture(id, &info);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) break;
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  ASSERT_NO_FATAL_FAILURE(StopDaemon(SIGTERM));

  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--retention=2s"}));
  EXPECT_EQ(calls_->GetFuture(id, &info).error_code(),
            grpc::StatusCode::NOT_FOUND)
      << "an expired future does not come back";
}

// Done futures come back from the journal's table without being read whole
// (they stay on disk until asked for): each is still counted, answers every
// call with its outcome and times, can be released unread, and expires
// unread, for good.
TEST_F(JournalTest, DoneFuturesLeftOnDiskAnswerAreCountedAndExpire) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--retention=8s"}));
  std::vector<std::string> ids;
  for (int i = 1; i <= 5; ++i) ids.push_back(MustSubmit(Square(i)));
  std::vector<FutureInfo> before;
  for (const std::string& id : ids) before.push_back(MustResult(id));
  // A clean stop folds the log into the table: the futures are rows, which
  // the next start leaves on disk (kill -9 would leave them in the log,
  // from which they come back whole).
  ASSERT_NO_FATAL_FAILURE(StopDaemon(SIGTERM));

  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--retention=8s"}));
  futured::v1::GetStatsResponse stats;
  ASSERT_TRUE(calls_->GetStats(&stats).ok());
  EXPECT_EQ(stats.futures(), 5);
  const FutureInfo result = MustResult(ids[4]);
  EXPECT_EQ(result.outcome().value().number_value(), 25);
  EXPECT_EQ(result.start_time().SerializeAsString(),
            before[4].start_time().SerializeAsString());
  EXPECT_EQ(result.end_time().SerializeAsString(),
            before[4].end_time().SerializeAsString());
  futured::v1::ReleaseResponse released;
  ASSERT_TRUE(calls_->Release({ids[1]}, &released).ok());
  FutureInfo info;
  EXPECT_EQ(calls_->GetFuture(ids[1], &info).error_code(),
            grpc::StatusCode::NOT_FOUND);
  futured::v1::AsCompletedRequest as_completed;
  as_completed.add_ids(ids[0]);
  std::vector<FutureInfo> completed;
  ASSERT_TRUE(calls_->AsCompleted(as_completed, &completed).ok());
  ASSERT_EQ(completed.size(), 1u);
  EXPECT_EQ(completed[0].outcome().value().number_value(), 1);
  futured::v1::WaitRequest wait;
  wait.add_ids(ids[2]);
  futured::v1::WaitResponse waited;
  ASSERT_TRUE(calls_->Wait(wait, &waited).ok());
  EXPECT_THAT(waited.done(), ::testing::ElementsAre(ids[2]));
  // ids[3] is never asked for: it expires all the same, as the others do.
  ASSERT_TRUE(calls_->GetStats(&stats).ok());
  EXPECT_EQ(stats.futures(), 4);
  MustAwaitStats(
      [](const futured::v1::GetStatsResponse& s) { return s.futures() == 0; });
  ASSERT_NO_FATAL_FAILURE(StopDaemon(SIGTERM));

  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--retention=8s"}));
  ASSERT_TRUE(calls_->GetStats(&stats).ok());
  EXPECT_EQ(stats.futures(), 0) << "released and expired futures stay gone";
  EXPECT_EQ(calls_->GetFuture(ids[3], &info).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(JournalTest, ASecondDaemonOnTheSameStateDirectoryIsRefused) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  absl::StatusOr<ProgramResult> second = RunProgram(
      {FUTURED_BINARY, "--listen=127.0.0.1:0", "--state_dir=" + state_dir()});
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->exit_code, 65);
  EXPECT_THAT(second->err, HasSubstr("is in use by another futured (pid " +
                                     std::to_string(daemon_->pid()) + ")"));
}

TEST_F(JournalTest, AFileThatIsNoJournalStopsTheStartAndIsLeftAlone) {
  std::filesystem::create_directories(state_dir());
  const std::string db = state_dir() + "/futured.db";
  std::ofstream(db) << std::string(4096, 'z');
  absl::StatusOr<ProgramResult> run = RunProgram(
      {FUTURED_BINARY, "--listen=127.0.0.1:0", "--state_dir=" + state_dir()});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 65);
  EXPECT_THAT(run->err, HasSubstr("cannot open the journal: DATA_LOSS"));
  EXPECT_EQ(std::filesystem::file_size(db), 4096u);
}

// Futures whose task appends its tag to a file: the file tells how often
// each ran.
class KillStormTest : public JournalTest,
                      public ::testing::WithParamInterface<int> {
 protected:
  SubmitRequest Appending(const std::string& tag, bool process_pool) {
    SubmitRequest call = CallOf(
        "exec", {ListValue({StringValue("/bin/sh"), StringValue("-c"),
                            StringValue(absl::StrCat("echo ", tag, " >> ", dir_,
                                                     "/ran; sleep 0.05"))})});
    call.set_pool(process_pool ? "process" : "thread");
    return call;
  }

  std::map<std::string, int> RunCounts() {
    std::map<std::string, int> counts;
    std::ifstream in(dir_ + "/ran");
    std::string line;
    while (std::getline(in, line)) ++counts[line];
    return counts;
  }

  // kRounds times: starts the daemon, submits 10 to 30 appending futures
  // (with `policy` if set), waits 0 to 150 ms and ends it with `signal`.
  // Then starts it once more and returns every accepted future as it ended,
  // by tag.
  std::map<std::string, FutureInfo> Storm(
      int signal, const futured::v1::RetryPolicy* policy) {
    std::mt19937 random(std::random_device{}());
    std::printf("seed %u\n", static_cast<unsigned>(random()));
    std::map<std::string, std::string> tags;  // future ID -> tag
    int next_tag = 0;
    for (int round = 0; round < kRounds; ++round) {
      StartDaemon(kFlags);
      if (HasFatalFailure()) return {};
      const int submits = 10 + static_cast<int>(random() % 20);
      for (int i = 0; i < submits; ++i) {
        const std::string tag = absl::StrCat("t", next_tag++);
        SubmitRequest call = Appending(tag, i % 2 == 1);
        if (policy != nullptr) *call.mutable_retry_policy() = *policy;
        std::string id;
        if (calls_->Submit(call, &id).ok()) tags[id] = tag;
      }
      absl::SleepFor(absl::Milliseconds(random() % 150));
      StopDaemon(signal);
      if (HasFatalFailure()) return {};
    }
    StartDaemon(kFlags);
    std::map<std::string, FutureInfo> ended;
    for (const auto& [id, tag] : tags) ended[tag] = MustResult(id);
    return ended;
  }

  static constexpr int kRounds = 5;
  const std::vector<std::string> kFlags = {"--exec_allow=/bin/sh",
                                           "--threads=2", "--processes=2",
                                           "--shutdown_grace=0s"};
};

TEST_P(KillStormTest, EveryAcceptedFutureEndsOnceAndNoTaskRunsTwice) {
  const std::map<std::string, FutureInfo> ended =
      Storm(GetParam(), /*policy=*/nullptr);
  ASSERT_FALSE(HasFatalFailure());
  const std::map<std::string, int> ran = RunCounts();
  int finished = 0;
  for (const auto& [tag, info] : ended) {
    ASSERT_TRUE(info.done()) << tag;
    const int runs = ran.contains(tag) ? ran.at(tag) : 0;
    if (info.state() == futured::v1::FUTURE_STATE_FINISHED &&
        !info.outcome().has_error()) {
      ++finished;
      EXPECT_EQ(runs, 1) << tag << " finished";
    } else {
      EXPECT_EQ(info.outcome().error().type(), "InterruptedError")
          << tag << ": " << info.ShortDebugString();
      EXPECT_LE(runs, 1) << tag << " was interrupted";
    }
  }
  for (const auto& [tag, runs] : ran) {
    EXPECT_LE(runs, 1) << tag << " ran more than once";
  }
  std::printf("%zu futures accepted over %d rounds, %d finished\n",
              ended.size(), kRounds, finished);
  EXPECT_GT(finished, 0);
}

// With a policy that retries InterruptedError and more attempts than there
// are kills, every accepted future finishes (at least once), and none runs
// more often than its attempts allow.
TEST_P(KillStormTest, WithARetryPolicyEveryAcceptedFutureFinishes) {
  futured::v1::RetryPolicy policy;
  policy.set_max_attempts(kRounds + 1);
  policy.add_retry_on("InterruptedError");
  *policy.mutable_initial_backoff() = DurationProto(absl::Milliseconds(1));
  *policy.mutable_max_backoff() = DurationProto(absl::Milliseconds(10));
  const std::map<std::string, FutureInfo> ended = Storm(GetParam(), &policy);
  ASSERT_FALSE(HasFatalFailure());
  const std::map<std::string, int> ran = RunCounts();
  int retried = 0;
  for (const auto& [tag, info] : ended) {
    ASSERT_EQ(info.state(), futured::v1::FUTURE_STATE_FINISHED)
        << tag << ": " << info.ShortDebugString();
    EXPECT_FALSE(info.outcome().has_error())
        << tag << ": " << info.ShortDebugString();
    const int runs = ran.contains(tag) ? ran.at(tag) : 0;
    EXPECT_GE(runs, 1) << tag << " finished";
    EXPECT_LE(runs, info.attempt()) << tag << " ran more than its attempts";
    EXPECT_LE(info.attempt(), kRounds + 1);
    EXPECT_EQ(info.earlier_attempts_size(), info.attempt() - 1);
    for (const auto& earlier : info.earlier_attempts()) {
      EXPECT_EQ(earlier.error().type(), "InterruptedError") << tag;
    }
    if (info.attempt() > 1) ++retried;
  }
  std::printf("%zu futures accepted over %d rounds, %d retried\n", ended.size(),
              kRounds, retried);
}

INSTANTIATE_TEST_SUITE_P(KillAndTerm, KillStormTest,
                         ::testing::Values(SIGKILL, SIGTERM),
                         [](const auto& info) {
                           return info.param == SIGKILL ? "Kill9" : "Sigterm";
                         });

}  // namespace
}  // namespace futured::testing
