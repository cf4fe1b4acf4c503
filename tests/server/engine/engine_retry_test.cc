// Retry policies in the engine: which errors run a task again, how often,
// in what order, and what Cancel, a deadline and Shutdown do to a future
// that waits for its next attempt. Both pools.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/engine/engine.h"
#include "server/engine/timer_queue.h"
#include "server/task/task_registry.h"
#include "server/tasks/builtin_tasks.h"

namespace futured::server {
namespace {

using google::protobuf::RepeatedPtrField;
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr absl::string_view kPrincipal = "alice";

RepeatedPtrField<Value> StringArgs(std::initializer_list<std::string> args) {
  RepeatedPtrField<Value> values;
  for (const std::string& arg : args) values.Add()->set_string_value(arg);
  return values;
}

// Blocks until `future` is done; false after 60 s.
bool AwaitDone(Future& future) {
  absl::Notification done;
  future.AddDoneCallback([&done] { done.Notify(); });
  return done.WaitForNotificationWithTimeout(absl::Seconds(60));
}

RetryPolicy Retrying(std::vector<std::string> types, int max_attempts,
                     absl::Duration backoff = absl::ZeroDuration()) {
  return RetryPolicy{.max_attempts = max_attempts,
                     .retry_on = std::move(types),
                     .initial_backoff = backoff,
                     .max_backoff = backoff,
                     .jitter = 0};
}

// Test tasks, registered beside the builtins: `flaky(tag, failures, type)`
// raises `type` on its first `failures` calls with that tag, then returns
// the number of its calls; every call is logged, in order.
class EngineRetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(RegisterBuiltinTasks(registry_).ok());
    ASSERT_TRUE(
        registry_
            .Register(TaskSpec{
                .name = "flaky",
                .params = {{.name = "tag", .type = ParamType::kString},
                           {.name = "failures", .type = ParamType::kInteger},
                           {.name = "type", .type = ParamType::kString}},
                .function = [this](const TaskContext&,
                                   const BoundArgs& args) -> Outcome {
                  const int calls = LogCall(args.String(0));
                  if (calls <= args.Integer(1)) {
                    return TaskError{.type = args.String(2),
                                     .message = absl::StrCat("call ", calls)};
                  }
                  Value value;
                  value.set_number_value(calls);
                  return value;
                }})
            .ok());
    // Holds its thread until gate_ is notified.
    ASSERT_TRUE(
        registry_
            .Register(TaskSpec{.name = "gate",
                               .params = {},
                               .function = [this](const TaskContext&,
                                                  const BoundArgs&) -> Outcome {
                                 gate_.WaitForNotification();
                                 return Value();
                               }})
            .ok());
    // Ignores its stop request: raises ValueError once released_.
    ASSERT_TRUE(
        registry_
            .Register(TaskSpec{.name = "stubborn",
                               .params = {},
                               .function = [this](const TaskContext&,
                                                  const BoundArgs&) -> Outcome {
                                 if (!started_.HasBeenNotified())
                                   started_.Notify();
                                 released_.WaitForNotification();
                                 return TaskError{.type = "ValueError"};
                               }})
            .ok());
  }

  std::unique_ptr<Engine> NewEngine(PoolOptions pool = ThreadPool::Options{
                                        .name = "thread", .workers = 1}) {
    return std::make_unique<Engine>(EngineOptions{.pools = {std::move(pool)}},
                                    &registry_, &timers_);
  }

  // Starts flaky(tag, failures, type) with `policy`, into the table.
  std::shared_ptr<Future> StartFlaky(
      Engine& engine, const std::string& tag, int failures,
      const std::string& type, std::optional<RetryPolicy> policy,
      std::optional<absl::Duration> timeout = std::nullopt) {
    RepeatedPtrField<Value> args = StringArgs({tag});
    args.Add()->set_number_value(failures);
    args.Add()->set_string_value(type);
    absl::StatusOr<PreparedCall> call =
        engine.Prepare("flaky", args, Struct(), "");
    EXPECT_TRUE(call.ok()) << call.status();
    if (!call.ok()) return nullptr;
    if (policy) call->retry = std::make_shared<const RetryPolicy>(*policy);
    absl::StatusOr<std::shared_ptr<Future>> future =
        engine.Start(*std::move(call), timeout, Tracking::kInTable, kPrincipal);
    EXPECT_TRUE(future.ok()) << future.status();
    return future.ok() ? *std::move(future) : nullptr;
  }

  int LogCall(const std::string& tag) {
    absl::MutexLock lock(&mu_);
    calls_.push_back(tag);
    return static_cast<int>(std::count(calls_.begin(), calls_.end(), tag));
  }

  std::vector<std::string> Calls() {
    absl::MutexLock lock(&mu_);
    return calls_;
  }

  int CallsOf(const std::string& tag) {
    std::vector<std::string> calls = Calls();
    return static_cast<int>(std::count(calls.begin(), calls.end(), tag));
  }

  absl::Notification gate_;
  absl::Notification started_;
  absl::Notification released_;
  TaskRegistry registry_;
  TimerQueue timers_;
  absl::Mutex mu_;
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
};

TEST_F(EngineRetryTest, AnErrorItRetriesRunsTheTaskAgainUntilItSucceeds) {
  auto engine = NewEngine();
  std::shared_ptr<Future> future = StartFlaky(
      *engine, "a", 2, "ValueError", Retrying({"KeyError", "ValueError"}, 3));
  ASSERT_NE(future, nullptr);
  ASSERT_TRUE(AwaitDone(*future));
  const FutureSnapshot done = future->Snapshot();
  EXPECT_EQ(done.state, FutureState::kFinished);
  EXPECT_EQ(std::get<Value>(*done.outcome).number_value(), 3);
  EXPECT_EQ(done.attempt, 3);
  EXPECT_EQ(done.max_attempts, 3);
  ASSERT_EQ(done.earlier_attempts.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const AttemptError& earlier = done.earlier_attempts[i];
    EXPECT_EQ(earlier.attempt, i + 1);
    EXPECT_EQ(earlier.error.type, "ValueError");
    EXPECT_EQ(earlier.error.message, absl::StrCat("call ", i + 1));
    ASSERT_TRUE(earlier.start_time.has_value());
    EXPECT_LE(*earlier.start_time, earlier.end_time);
  }
  EXPECT_LE(done.earlier_attempts[1].end_time, *done.start_time);
  EXPECT_EQ(CallsOf("a"), 3);
  // Counted once, as it ended, and its two retries apart.
  const std::vector<FunctionStats> stats = engine->FunctionStatistics();
  auto flaky = std::find_if(stats.begin(), stats.end(),
                            [](const auto& s) { return s.name == "flaky"; });
  ASSERT_NE(flaky, stats.end());
  EXPECT_EQ(flaky->finished, 1);
  EXPECT_EQ(flaky->failed, 0);
  EXPECT_EQ(flaky->retried, 2);
  EXPECT_EQ(flaky->run_count, 1);
}

TEST_F(EngineRetryTest, AnErrorItDoesNotNameEndsTheFutureAtOnce) {
  auto engine = NewEngine();
  std::shared_ptr<Future> future = StartFlaky(
      *engine, "b", 5, "KeyError", Retrying({"ValueError", "Key"}, 5));
  ASSERT_NE(future, nullptr);
  ASSERT_TRUE(AwaitDone(*future));
  const FutureSnapshot done = future->Snapshot();
  EXPECT_EQ(std::get<TaskError>(*done.outcome).type, "KeyError");
  EXPECT_EQ(done.attempt, 1);
  EXPECT_TRUE(done.earlier_attempts.empty());
  EXPECT_EQ(CallsOf("b"), 1);
}

TEST_F(EngineRetryTest, WithoutAPolicyAFailedTaskRunsOnce) {
  auto engine = NewEngine();
  std::shared_ptr<Future> future =
      StartFlaky(*engine, "c", 5, "ValueError", std::nullopt);
  ASSERT_NE(future, nullptr);
  ASSERT_TRUE(AwaitDone(*future));
  EXPECT_EQ(std::get<TaskError>(*future->Snapshot().outcome).type,
            "ValueError");
  EXPECT_EQ(future->Snapshot().max_attempts, 1);
  EXPECT_EQ(CallsOf("c"), 1);
}

TEST_F(EngineRetryTest, MaxAttemptsCountsTheFirstAndTheLastErrorIsTheOutcome) {
  auto engine = NewEngine();
  std::shared_ptr<Future> future =
      StartFlaky(*engine, "d", 100, "ValueError", Retrying({"ValueError"}, 4));
  ASSERT_NE(future, nullptr);
  ASSERT_TRUE(AwaitDone(*future));
  const FutureSnapshot done = future->Snapshot();
  const TaskError& error = std::get<TaskError>(*done.outcome);
  EXPECT_EQ(error.type, "ValueError");
  EXPECT_EQ(error.message, "call 4");
  EXPECT_EQ(done.attempt, 4);
  EXPECT_EQ(done.earlier_attempts.size(), 3u);
  EXPECT_EQ(CallsOf("d"), 4);
}

// One thread; "first" fails once while "second" and "third" wait in the
// queue: its next attempt goes to the back of the queue.
TEST_F(EngineRetryTest, ARetriedAttemptIsQueuedBehindWhatWaitedBeforeIt) {
  auto engine = NewEngine();
  absl::StatusOr<PreparedCall> gate = engine->Prepare("gate", {}, Struct(), "");
  ASSERT_TRUE(gate.ok());
  absl::StatusOr<std::shared_ptr<Future>> holding =
      engine->Start(*gate, std::nullopt, Tracking::kInTable, kPrincipal);
  ASSERT_TRUE(holding.ok());
  std::shared_ptr<Future> first = StartFlaky(*engine, "first", 1, "ValueError",
                                             Retrying({"ValueError"}, 2));
  std::shared_ptr<Future> second =
      StartFlaky(*engine, "second", 0, "ValueError", std::nullopt);
  std::shared_ptr<Future> third =
      StartFlaky(*engine, "third", 0, "ValueError", std::nullopt);
  gate_.Notify();
  for (const auto& f : {first, second, third}) ASSERT_TRUE(AwaitDone(*f));
  EXPECT_EQ(Calls(),
            (std::vector<std::string>{"first", "second", "third", "first"}));
  EXPECT_EQ(std::get<Value>(*first->Snapshot().outcome).number_value(), 2);
}

// A backoff of an hour: the next attempt waits on the timer queue, PENDING,
// while other work runs; nobody waiting on it hears of the failed attempt.
TEST_F(EngineRetryTest, ABackoffHoldsTheNextAttemptAndCancelEndsIt) {
  auto engine = NewEngine();
  const int64_t timers_before = timers_.pending();
  std::shared_ptr<Future> waiting =
      StartFlaky(*engine, "w", 1, "ValueError",
                 Retrying({"ValueError"}, 3, absl::Hours(1)));
  ASSERT_NE(waiting, nullptr);
  std::atomic<int> done_callbacks = 0;
  waiting->AddDoneCallback([&done_callbacks] { ++done_callbacks; });
  std::shared_ptr<Future> later =
      StartFlaky(*engine, "later", 0, "ValueError", std::nullopt);
  ASSERT_TRUE(AwaitDone(*later));  // queued behind w's first attempt
  FutureSnapshot pending = waiting->Snapshot();
  EXPECT_EQ(pending.state, FutureState::kPending);
  EXPECT_EQ(pending.attempt, 2);
  EXPECT_FALSE(pending.start_time.has_value());
  ASSERT_EQ(pending.earlier_attempts.size(), 1u);
  EXPECT_EQ(pending.earlier_attempts[0].error.type, "ValueError");
  EXPECT_EQ(done_callbacks, 0);
  EXPECT_EQ(timers_.pending(), timers_before + 1) << "the backoff's timer";

  EXPECT_EQ(waiting->Cancel(absl::Now()), CancelAction::kCancelledPending);
  EXPECT_EQ(waiting->state(), FutureState::kCancelled);
  EXPECT_EQ(done_callbacks, 1);
  EXPECT_EQ(timers_.pending(), timers_before) << "its timer is cancelled";
  EXPECT_EQ(CallsOf("w"), 1);
  EXPECT_EQ(waiting->Snapshot().earlier_attempts.size(), 1u);
}

// The Submit timeout covers every attempt: it ends a future in its backoff.
TEST_F(EngineRetryTest, TheTimeoutEndsAFutureThatWaitsForItsNextAttempt) {
  auto engine = NewEngine();
  std::shared_ptr<Future> future =
      StartFlaky(*engine, "t", 1, "ValueError",
                 Retrying({"ValueError", "TimeoutError"}, 3, absl::Hours(1)),
                 absl::Milliseconds(300));
  ASSERT_NE(future, nullptr);
  ASSERT_TRUE(AwaitDone(*future));
  const FutureSnapshot done = future->Snapshot();
  EXPECT_EQ(std::get<TaskError>(*done.outcome).type, "TimeoutError");
  EXPECT_EQ(done.attempt, 2);
  EXPECT_EQ(done.earlier_attempts.size(), 1u);
  EXPECT_EQ(CallsOf("t"), 1);
}

// A running attempt told to stop is the last, whatever it raises then.
TEST_F(EngineRetryTest, ARunningAttemptThatWasCancelledIsNotRetried) {
  auto engine = NewEngine();
  absl::StatusOr<PreparedCall> call =
      engine->Prepare("stubborn", {}, Struct(), "");
  ASSERT_TRUE(call.ok());
  call->retry =
      std::make_shared<const RetryPolicy>(Retrying({"ValueError"}, 5));
  absl::StatusOr<std::shared_ptr<Future>> future =
      engine->Start(*call, std::nullopt, Tracking::kInTable, kPrincipal);
  ASSERT_TRUE(future.ok());
  started_.WaitForNotification();
  EXPECT_EQ((*future)->Cancel(absl::Now()), CancelAction::kStopRequested);
  released_.Notify();
  ASSERT_TRUE(AwaitDone(**future));
  EXPECT_EQ(std::get<TaskError>(*(*future)->Snapshot().outcome).type,
            "ValueError");
  EXPECT_EQ((*future)->Snapshot().attempt, 1);
}

// Without a journal, Shutdown() cancels a future waiting for its next
// attempt, as it does the queued ones.
TEST_F(EngineRetryTest, ShutdownCancelsAFutureInItsBackoff) {
  auto engine = NewEngine();
  std::shared_ptr<Future> future =
      StartFlaky(*engine, "s", 1, "ValueError",
                 Retrying({"ValueError"}, 2, absl::Hours(1)));
  ASSERT_NE(future, nullptr);
  std::shared_ptr<Future> later =
      StartFlaky(*engine, "later", 0, "ValueError", std::nullopt);
  ASSERT_TRUE(AwaitDone(*later));
  ASSERT_EQ(future->state(), FutureState::kPending);
  engine->Shutdown(absl::ZeroDuration());
  EXPECT_EQ(future->state(), FutureState::kCancelled);
  EXPECT_EQ(CallsOf("s"), 1);
}

// The key case of a process pool: a worker that dies under an attempt.
TEST_F(EngineRetryTest, AWorkerThatDiesIsAWorkerDiedErrorThatIsRetried) {
  ProcessPool::Options pool;
  pool.name = "process";
  pool.workers = 1;
  pool.worker_binary = FUTURED_WORKER_BINARY;
  auto engine = NewEngine(std::move(pool));
  RepeatedPtrField<Value> args = StringArgs({"exit"});
  args.Add()->set_number_value(3);
  absl::StatusOr<PreparedCall> call =
      engine->Prepare("crash", args, Struct(), "process");
  ASSERT_TRUE(call.ok()) << call.status();
  call->retry =
      std::make_shared<const RetryPolicy>(Retrying({"WorkerDiedError"}, 3));
  absl::StatusOr<std::shared_ptr<Future>> future =
      engine->Start(*call, std::nullopt, Tracking::kInTable, kPrincipal);
  ASSERT_TRUE(future.ok()) << future.status();
  ASSERT_TRUE(AwaitDone(**future));
  const FutureSnapshot done = (*future)->Snapshot();
  EXPECT_EQ(std::get<TaskError>(*done.outcome).type, "WorkerDiedError");
  EXPECT_EQ(done.attempt, 3);
  ASSERT_EQ(done.earlier_attempts.size(), 2u);
  for (const AttemptError& earlier : done.earlier_attempts) {
    EXPECT_EQ(earlier.error.type, "WorkerDiedError");
    EXPECT_NE(earlier.worker_pid, 0);
  }
  // Each attempt in a new worker: the one before had died.
  EXPECT_NE(done.earlier_attempts[0].worker_pid,
            done.earlier_attempts[1].worker_pid);
  EXPECT_NE(done.earlier_attempts[1].worker_pid, done.worker_pid);
}

}  // namespace
}  // namespace futured::server
