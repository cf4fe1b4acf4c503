// A call blocked in Result holds no thread: 2,000 Result calls wait at once on
// a daemon with two workers, the daemon's thread count stays small, other
// calls still answer, and every waiter completes when the future ends (or
// when its own ResultRequest.timeout passes).

#include <sys/types.h>
#include <sys/wait.h>

#include <csignal>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "futured/v1/executor.grpc.pb.h"
#include "google/protobuf/duration.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/executor_calls.h"

namespace futured::testing {
namespace {

using ::futured::v1::Executor;
using ::futured::v1::FutureInfo;

constexpr int kWaiters = 2000;
// A resource bound, not a timing one: a thread per waiting call would need
// more than 2,000.
constexpr int kMaxDaemonThreads = 100;
constexpr absl::Duration kWaiterDeadline = absl::Seconds(120);
constexpr absl::Duration kPollInterval = absl::Milliseconds(50);
constexpr absl::Duration kPollLimit = absl::Seconds(60);

// Submits sleep(seconds) and returns its future's ID ("" on failure, which
// is reported).
std::string SubmitSleep(ExecutorCalls& calls, double seconds) {
  std::string id;
  grpc::Status status =
      calls.Submit(CallOf("sleep", {NumberValue(seconds)}), &id);
  EXPECT_TRUE(status.ok()) << StatusText(status);
  return id;
}

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

// `count` Result calls on one future, all in flight at once on the callback
// API. Each call's context, request and response stay alive until its
// callback has run: the destructor cancels the calls still pending and waits
// for their callbacks, and if even that does not end them it leaks the
// calls rather than free memory gRPC may still write. `stub` must outlive
// this object. Used by the test thread only; callbacks run on gRPC threads.
class ResultCalls {
 public:
  struct Call {
    grpc::ClientContext context;
    v1::ResultRequest request;
    FutureInfo response;
    grpc::Status status;
  };

  // `timeout` becomes ResultRequest.timeout unless it is zero.
  ResultCalls(Executor::Stub& stub, const std::string& id, int count,
              absl::Duration timeout)
      : state_(std::make_unique<State>(count)) {
    for (Call& call : state_->calls) {
      SetDeadline(&call.context, kWaiterDeadline);
      call.request.set_id(id);
      if (timeout != absl::ZeroDuration()) {
        *call.request.mutable_timeout() = DurationProto(timeout);
      }
    }
    State* state = state_.get();
    for (Call& call : state_->calls) {
      Call* raw = &call;
      stub.async()->Result(&call.context, &call.request, &call.response,
                           [state, raw](grpc::Status status) {
                             raw->status = std::move(status);
                             state->CallEnded();
                           });
    }
  }

  ~ResultCalls() {
    if (state_->all_ended.HasBeenNotified()) return;
    for (Call& call : state_->calls) call.context.TryCancel();
    if (!state_->all_ended.WaitForNotificationWithTimeout(absl::Seconds(30))) {
      state_.release();  // callbacks may still run: leak, never free
    }
  }

  ResultCalls(const ResultCalls&) = delete;
  ResultCalls& operator=(const ResultCalls&) = delete;

  // Waits at most `limit` for every callback; returns whether all ran.
  bool WaitAll(absl::Duration limit) {
    return state_->all_ended.WaitForNotificationWithTimeout(limit);
  }
  int Ended() {
    absl::MutexLock lock(&state_->mu);
    return state_->ended;
  }
  // Only after WaitAll() returned true.
  const std::vector<Call>& calls() const { return state_->calls; }

 private:
  struct State {
    explicit State(int count) : calls(count) {
      if (count == 0) all_ended.Notify();
    }
    // Notify() is the last thing the last callback does: once the test
    // thread sees it, it may destroy this State.
    void CallEnded() {
      bool last;
      {
        absl::MutexLock lock(&mu);
        last = ++ended == static_cast<int>(calls.size());
      }
      if (last) all_ended.Notify();
    }

    std::vector<Call> calls;  // never resized: callbacks hold pointers
    absl::Mutex mu;
    int ended ABSL_GUARDED_BY(mu) = 0;
    absl::Notification all_ended;
  };

  std::unique_ptr<State> state_;
};

TEST(ManyWaitersTest, TwoThousandResultCallsHoldNoThreadAndEndOnCancel) {
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start({.flags = {"--threads=2"}});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  ExecutorCalls calls((*daemon)->NewChannel());

  const std::string id = SubmitSleep(calls, 3600);
  ASSERT_FALSE(id.empty());
  absl::StatusOr<FutureInfo> started =
      calls.AwaitState(id, v1::FUTURE_STATE_RUNNING);
  ASSERT_TRUE(started.ok()) << started.status();

  ResultCalls waiters(calls.stub(), id, kWaiters, absl::ZeroDuration());
  v1::GetStatsResponse stats;
  ASSERT_TRUE(PollStatsUntil(
      calls,
      [](const v1::GetStatsResponse& s) {
        return s.waiting_calls() >= kWaiters;
      },
      &stats))
      << "waiting_calls never reached " << kWaiters << "; last "
      << stats.ShortDebugString() << "; client callbacks ended "
      << waiters.Ended();
  EXPECT_EQ(waiters.Ended(), 0);

  absl::StatusOr<int> threads = ThreadCount((*daemon)->pid());
  ASSERT_TRUE(threads.ok()) << threads.status();
  std::cout << "daemon threads with " << stats.waiting_calls()
            << " waiting calls: " << *threads << "\n";
  EXPECT_LT(*threads, kMaxDaemonThreads);

  // Other calls still answer while all of them wait.
  FutureInfo info;
  grpc::Status status = calls.GetFuture(id, &info);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(info.state(), v1::FUTURE_STATE_RUNNING) << info.ShortDebugString();
  v1::ListFunctionsResponse functions;
  status = calls.ListFunctions(&functions);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_GT(functions.functions_size(), 0);

  v1::CancelResponse cancel;
  status = calls.Cancel(id, &cancel);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_TRUE(cancel.cancelled()) << cancel.ShortDebugString();

  ASSERT_TRUE(waiters.WaitAll(absl::Seconds(60)))
      << waiters.Ended() << " of " << kWaiters << " ended";
  int not_cancelled = 0;
  for (const ResultCalls::Call& call : waiters.calls()) {
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
      calls,
      [](const v1::GetStatsResponse& s) { return s.waiting_calls() == 0; },
      &stats))
      << stats.ShortDebugString();

  absl::StatusOr<int> wait_status = (*daemon)->Stop(SIGTERM);
  ASSERT_TRUE(wait_status.ok()) << wait_status.status();
  EXPECT_TRUE(WIFEXITED(*wait_status) && WEXITSTATUS(*wait_status) == 0)
      << "wait status " << *wait_status;
}

TEST(ManyWaitersTest, TwoThousandResultTimeoutsAllExpireAndStopWaiting) {
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start({.flags = {"--threads=2"}});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  ExecutorCalls calls((*daemon)->NewChannel());

  const std::string id = SubmitSleep(calls, 3600);
  ASSERT_FALSE(id.empty());
  absl::StatusOr<FutureInfo> started =
      calls.AwaitState(id, v1::FUTURE_STATE_RUNNING);
  ASSERT_TRUE(started.ok()) << started.status();

  ResultCalls waiters(calls.stub(), id, kWaiters, absl::Seconds(1));
  ASSERT_TRUE(waiters.WaitAll(absl::Seconds(90)))
      << waiters.Ended() << " of " << kWaiters << " ended";
  int wrong = 0;
  for (const ResultCalls::Call& call : waiters.calls()) {
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
      calls,
      [](const v1::GetStatsResponse& s) { return s.waiting_calls() == 0; },
      &stats))
      << stats.ShortDebugString();

  // The future kept running through all those timeouts.
  FutureInfo info;
  grpc::Status status = calls.GetFuture(id, &info);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(info.state(), v1::FUTURE_STATE_RUNNING) << info.ShortDebugString();

  absl::StatusOr<int> wait_status = (*daemon)->Stop(SIGTERM);
  ASSERT_TRUE(wait_status.ok()) << wait_status.status();
  EXPECT_TRUE(WIFEXITED(*wait_status) && WEXITSTATUS(*wait_status) == 0)
      << "wait status " << *wait_status;
}

}  // namespace
}  // namespace futured::testing
