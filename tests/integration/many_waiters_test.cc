// A call blocked in Result holds no thread: 2,000 Result calls wait at once on
// a daemon with two workers, the daemon's thread count stays small, other
// calls still answer, and every waiter completes when the future ends (or
// when its own ResultRequest.timeout passes).

#include <sys/types.h>

#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "futured/v1/executor.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/async_result_calls.h"
#include "tests/integration/daemon_test.h"
#include "tests/integration/executor_calls.h"

namespace futured::testing {
namespace {

using ::futured::v1::FutureInfo;

constexpr int kWaiters = 2000;
// A resource bound, not a timing one: a thread per waiting call would need
// more than 2,000.
constexpr int kMaxDaemonThreads = 100;
constexpr absl::Duration kPollInterval = absl::Milliseconds(50);
constexpr absl::Duration kPollLimit = absl::Seconds(60);

// Calls GetStats every kPollInterval, at most for kPollLimit, until `done`
// holds for the answer. Returns whether it did; *last is the last answer.
bool PollStatsUntil(ExecutorCalls& calls,
                    absl::FunctionRef<bool(const v1::GetStatsResponse&)> done,
                    v1::GetStatsResponse* last) {
  const int max_polls = static_cast<int>(kPollLimit / kPollInterval);
  const absl::Time give_up = absl::Now() + kPollLimit;
  for (int poll = 0; poll < max_polls && absl::Now() < give_up; ++poll) {
    v1::GetStatsResponse stats;
    if (calls.GetStats(&stats).ok()) {
      *last = stats;
      if (done(stats)) return true;
    }
    absl::SleepFor(kPollInterval);
  }
  return false;
}

// The "Threads:" figure of /proc/<pid>/status.
absl::StatusOr<int> ThreadCount(pid_t pid) {
  std::ifstream status_file(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status_file, line)) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "Threads:")) {
      int threads = 0;
      if (absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &threads)) {
        return threads;
      }
      return absl::DataLossError(absl::StrCat("bad line: ", line));
    }
  }
  return absl::NotFoundError(absl::StrCat("no Threads: line for ", pid));
}

// Each test runs a daemon with two workers, one of them busy with a sleep
// that outlasts the test; id_ names its future.
class ManyWaitersTest : public DaemonTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(
        StartDaemon(/*unix_socket=*/false, {"--threads=2"}));
    id_ = MustSubmit(CallOf("sleep", {NumberValue(3600)}));
    ASSERT_FALSE(id_.empty());
    absl::StatusOr<FutureInfo> started =
        calls_->AwaitState(id_, v1::FUTURE_STATE_RUNNING);
    ASSERT_TRUE(started.ok()) << started.status();
  }

  std::string id_;
};

TEST_F(ManyWaitersTest, TwoThousandResultCallsHoldNoThreadAndEndOnCancel) {
  AsyncResultCalls waiters(calls_->stub(), id_, kWaiters);
  v1::GetStatsResponse stats;
  ASSERT_TRUE(PollStatsUntil(
      *calls_,
      [](const v1::GetStatsResponse& s) {
        return s.waiting_calls() >= kWaiters;
      },
      &stats))
      << "waiting_calls never reached " << kWaiters << "; last "
      << stats.ShortDebugString() << "; client callbacks ended "
      << waiters.Ended();
  EXPECT_EQ(waiters.Ended(), 0);

  absl::StatusOr<int> threads = ThreadCount(daemon_->pid());
  ASSERT_TRUE(threads.ok()) << threads.status();
  std::cout << "daemon threads with " << stats.waiting_calls()
            << " waiting calls: " << *threads << "\n";
  EXPECT_LT(*threads, kMaxDaemonThreads);

  // Other calls still answer while all of them wait.
  FutureInfo info;
  grpc::Status status = calls_->GetFuture(id_, &info);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(info.state(), v1::FUTURE_STATE_RUNNING) << info.ShortDebugString();
  v1::ListFunctionsResponse functions;
  status = calls_->ListFunctions(&functions);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_GT(functions.functions_size(), 0);

  v1::CancelResponse cancel;
  status = calls_->Cancel(id_, &cancel);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_TRUE(cancel.cancelled()) << cancel.ShortDebugString();

  ASSERT_TRUE(waiters.WaitAll(absl::Seconds(60)))
      << waiters.Ended() << " of " << kWaiters << " ended";
  int not_cancelled = 0;
  for (const AsyncResultCalls::Call& call : waiters.calls()) {
    if (!call.status.ok() || !call.response.outcome().cancelled() ||
        call.response.state() != v1::FUTURE_STATE_CANCELLED) {
      if (++not_cancelled <= 5) {
        ADD_FAILURE() << "status " << StatusText(call.status) << " response "
                      << call.response.ShortDebugString();
      }
    }
  }
  EXPECT_EQ(not_cancelled, 0);

  EXPECT_TRUE(PollStatsUntil(
      *calls_,
      [](const v1::GetStatsResponse& s) { return s.waiting_calls() == 0; },
      &stats))
      << stats.ShortDebugString();
}

TEST_F(ManyWaitersTest, TwoThousandResultTimeoutsAllExpireAndStopWaiting) {
  AsyncResultCalls waiters(calls_->stub(), id_, kWaiters, absl::Seconds(1));
  ASSERT_TRUE(waiters.WaitAll(absl::Seconds(90)))
      << waiters.Ended() << " of " << kWaiters << " ended";
  int wrong = 0;
  for (const AsyncResultCalls::Call& call : waiters.calls()) {
    if (call.status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      if (++wrong <= 5) {
        ADD_FAILURE() << "status " << StatusText(call.status) << " response "
                      << call.response.ShortDebugString();
      }
    }
  }
  EXPECT_EQ(wrong, 0);

  v1::GetStatsResponse stats;
  EXPECT_TRUE(PollStatsUntil(
      *calls_,
      [](const v1::GetStatsResponse& s) { return s.waiting_calls() == 0; },
      &stats))
      << stats.ShortDebugString();

  // The future kept running through all those timeouts.
  FutureInfo info;
  grpc::Status status = calls_->GetFuture(id_, &info);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(info.state(), v1::FUTURE_STATE_RUNNING) << info.ShortDebugString();
}

}  // namespace
}  // namespace futured::testing
