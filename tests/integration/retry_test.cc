// Retry policies over gRPC, on the real daemon: a task that fails its first
// calls (the attempt_counter test plugin counts them in a file) finishes on
// a later attempt in either pool, a killed worker is a WorkerDiedError that
// is retried, Cancel ends a future waiting for its next attempt, and
// malformed policies are INVALID_ARGUMENT.
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_test.h"
#include "tests/integration/temp_dir.h"

namespace futured::testing {
namespace {

using ::futured::v1::FutureInfo;
using ::futured::v1::SubmitRequest;
using ::testing::HasSubstr;

// Lines in `path`: how often a task that appends one per call ran.
int LinesIn(const std::string& path) {
  std::ifstream in(path);
  int lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

class RetryTest : public DaemonTest {
 protected:
  void StartDaemon(std::vector<std::string> flags = {}) {
    flags.push_back(absl::StrCat("--plugin=", ATTEMPT_COUNTER_PLUGIN));
    flags.push_back("--processes=1");
    DaemonTest::StartDaemon(/*unix_socket=*/true, std::move(flags));
  }

  // attempts.fail_first: raises `type` on its first `failures` calls,
  // counted in the file counter_.
  SubmitRequest FailFirst(int failures, const std::string& pool = "thread",
                          const std::string& type = "ValueError") {
    SubmitRequest call = CallOf(
        "attempts.fail_first",
        {StringValue(counter_), NumberValue(failures), StringValue(type)});
    call.set_pool(pool);
    return call;
  }

  static void Retry(SubmitRequest& call, std::vector<std::string> types,
                    int max_attempts,
                    absl::Duration backoff = absl::Milliseconds(10)) {
    futured::v1::RetryPolicy* policy = call.mutable_retry_policy();
    policy->set_max_attempts(max_attempts);
    for (const std::string& type : types) policy->add_retry_on(type);
    *policy->mutable_initial_backoff() = DurationProto(backoff);
    *policy->mutable_max_backoff() = DurationProto(backoff);
  }

  TempDir dir_;
  // Empty at first; the test's tasks append a line per call.
  const std::string counter_ = dir_.Write("calls", "");
};

class RetryInPoolTest : public RetryTest,
                        public ::testing::WithParamInterface<const char*> {};

TEST_P(RetryInPoolTest, ATaskThatFailsTwiceFinishesOnItsThirdAttempt) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  SubmitRequest call = FailFirst(2, GetParam());
  Retry(call, {"KeyError", "ValueError"}, 3);
  const FutureInfo info = MustResult(MustSubmit(call));
  EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_FINISHED);
  EXPECT_EQ(info.outcome().value().number_value(), 3)
      << info.ShortDebugString();
  EXPECT_EQ(info.attempt(), 3);
  EXPECT_EQ(info.max_attempts(), 3);
  ASSERT_EQ(info.earlier_attempts_size(), 2);
  for (int i = 0; i < 2; ++i) {
    const futured::v1::AttemptError& earlier = info.earlier_attempts(i);
    EXPECT_EQ(earlier.attempt(), i + 1);
    EXPECT_EQ(earlier.error().type(), "ValueError");
    EXPECT_EQ(earlier.error().message(),
              absl::StrCat("call ", i + 1, " fails"));
    EXPECT_TRUE(earlier.has_start_time());
    EXPECT_LE(TimeFromProto(earlier.end_time()),
              TimeFromProto(info.start_time()));
  }
  EXPECT_EQ(LinesIn(counter_), 3);
  const futured::v1::GetStatsResponse stats =
      MustAwaitStats([](const futured::v1::GetStatsResponse& s) {
        for (const auto& f : s.functions()) {
          if (f.function() == "attempts.fail_first") return f.finished() == 1;
        }
        return false;
      });
  for (const auto& f : stats.functions()) {
    if (f.function() != "attempts.fail_first") continue;
    EXPECT_EQ(f.retried(), 2);
    EXPECT_EQ(f.failed(), 0);
  }
}

TEST_P(RetryInPoolTest, WithoutAPolicyAFailedTaskRunsOnce) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  const FutureInfo info = MustResult(MustSubmit(FailFirst(1, GetParam())));
  EXPECT_EQ(info.outcome().error().type(), "ValueError");
  EXPECT_EQ(info.attempt(), 1);
  EXPECT_EQ(info.max_attempts(), 1);
  EXPECT_EQ(info.earlier_attempts_size(), 0);
  EXPECT_EQ(LinesIn(counter_), 1);
}

INSTANTIATE_TEST_SUITE_P(Pools, RetryInPoolTest,
                         ::testing::Values("thread", "process"),
                         [](const auto& info) {
                           return std::string(info.param);
                         });

// The task kills its own worker the first time (sh's parent is the worker
// process that runs exec): WorkerDiedError, retried in a new worker.
TEST_F(RetryTest, AWorkerKilledUnderItsTaskIsRetriedAsWorkerDiedError) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--exec_allow=/bin/sh"}));
  const std::string& counter = counter_;
  SubmitRequest call =
      CallOf("exec",
             {ListValue({StringValue("/bin/sh"), StringValue("-c"),
                         StringValue(absl::StrCat(
                             "echo ran >> ", counter, "; [ $(wc -l < ", counter,
                             ") -ge 2 ] || kill -9 $PPID; echo survived"))})});
  call.set_pool("process");
  Retry(call, {"WorkerDiedError"}, 3);
  const FutureInfo info = MustResult(MustSubmit(call));
  ASSERT_EQ(info.state(), futured::v1::FUTURE_STATE_FINISHED);
  ASSERT_FALSE(info.outcome().has_error()) << info.ShortDebugString();
  EXPECT_EQ(info.outcome()
                .value()
                .struct_value()
                .fields()
                .at("stdout")
                .string_value(),
            "survived\n");
  EXPECT_EQ(info.attempt(), 2);
  ASSERT_EQ(info.earlier_attempts_size(), 1);
  const futured::v1::AttemptError& died = info.earlier_attempts(0);
  EXPECT_EQ(died.error().type(), "WorkerDiedError");
  EXPECT_NE(died.worker_pid(), 0);
  EXPECT_NE(died.worker_pid(), info.worker_pid()) << "a new worker";
  EXPECT_EQ(LinesIn(counter), 2);
}

// With an hour's backoff: PENDING at attempt 2, nobody waiting is woken,
// and Cancel ends it at once; the task never runs again.
TEST_F(RetryTest, CancelEndsAFutureThatWaitsForItsNextAttempt) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  SubmitRequest call = FailFirst(1);
  Retry(call, {"ValueError"}, 5, absl::Hours(1));
  const std::string id = MustSubmit(call);
  FutureInfo waiting;
  for (int i = 0; i < 3000 && waiting.attempt() != 2; ++i) {  // 30 s at most
    waiting = MustGetFuture(id);
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_EQ(waiting.attempt(), 2);
  EXPECT_EQ(waiting.state(), futured::v1::FUTURE_STATE_PENDING);
  EXPECT_FALSE(waiting.done());
  EXPECT_FALSE(waiting.has_start_time());
  ASSERT_EQ(waiting.earlier_attempts_size(), 1);
  EXPECT_EQ(waiting.earlier_attempts(0).error().type(), "ValueError");

  futured::v1::WaitRequest wait;
  wait.add_ids(id);
  wait.set_return_when(futured::v1::RETURN_WHEN_FIRST_EXCEPTION);
  *wait.mutable_timeout() = DurationProto(absl::Milliseconds(200));
  futured::v1::WaitResponse waited;
  ASSERT_TRUE(calls_->Wait(wait, &waited).ok());
  EXPECT_TRUE(waited.timed_out()) << "a failed attempt is no exception yet";
  EXPECT_EQ(waited.done_size(), 0);

  const futured::v1::CancelResponse cancelled = MustCancel(id);
  EXPECT_TRUE(cancelled.cancelled());
  EXPECT_EQ(cancelled.action(), futured::v1::CANCEL_ACTION_CANCELLED_PENDING);
  const FutureInfo info = MustResult(id);
  EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_CANCELLED);
  EXPECT_EQ(info.earlier_attempts_size(), 1);
  EXPECT_EQ(LinesIn(counter_), 1);
}

TEST_F(RetryTest, AMalformedPolicyIsInvalidArgumentNamingTheField) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  struct Case {
    void (*spoil)(futured::v1::RetryPolicy&);
    const char* says;
  };
  const Case cases[] = {
      {[](futured::v1::RetryPolicy& p) { p.set_max_attempts(1000); },
       "retry_policy.max_attempts must be from 1 to 100"},
      {[](futured::v1::RetryPolicy& p) { p.set_max_attempts(-1); },
       "retry_policy.max_attempts must be from 1 to 100"},
      {[](futured::v1::RetryPolicy& p) { p.clear_retry_on(); },
       "retry_policy.retry_on names no error type"},
      {[](futured::v1::RetryPolicy& p) {
         p.mutable_initial_backoff()->set_seconds(-1);
       },
       "retry_policy.initial_backoff must not be negative"},
      {[](futured::v1::RetryPolicy& p) {
         p.mutable_max_backoff()->set_seconds(7200);
       },
       "retry_policy.max_backoff must be from 0 to 1h"},
      {[](futured::v1::RetryPolicy& p) { p.set_multiplier(-2); },
       "retry_policy.multiplier must be from 1 to 10"},
      {[](futured::v1::RetryPolicy& p) { p.set_jitter(2); },
       "retry_policy.jitter must be from 0 to 1"},
  };
  for (const Case& c : cases) {
    SubmitRequest call = CallOf("square", {NumberValue(2)});
    call.mutable_retry_policy()->add_retry_on("ValueError");
    c.spoil(*call.mutable_retry_policy());
    std::string id;
    const grpc::Status status = calls_->Submit(call, &id);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.says;
    EXPECT_THAT(status.error_message(), HasSubstr(c.says));
  }
  // Defaults fill what is left out: three attempts.
  SubmitRequest call = CallOf("square", {NumberValue(2)});
  call.mutable_retry_policy()->add_retry_on("ValueError");
  EXPECT_EQ(MustResult(MustSubmit(call)).max_attempts(), 3);
}

}  // namespace
}  // namespace futured::testing
