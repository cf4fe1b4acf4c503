#include "server/engine/engine.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/engine/timer_queue.h"
#include "server/task/task_registry.h"
#include "server/tasks/builtin_tasks.h"

namespace futured::server {
namespace {

using google::protobuf::RepeatedPtrField;
using google::protobuf::Struct;
using google::protobuf::Value;

constexpr absl::string_view kPrincipal = "alice";

RepeatedPtrField<Value> Args(std::initializer_list<double> numbers) {
  RepeatedPtrField<Value> args;
  for (double n : numbers) args.Add()->set_number_value(n);
  return args;
}

// Blocks until `future` is done; false after 60 s.
bool AwaitDone(Future& future) {
  absl::Notification done;
  future.AddDoneCallback([&done] { done.Notify(); });
  return done.WaitForNotificationWithTimeout(absl::Seconds(60));
}

// Polls until `future` has left PENDING; false if it has not after 30 s.
bool AwaitStarted(const Future& future) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (future.state() == FutureState::kPending && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  return future.state() != FutureState::kPending;
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(RegisterBuiltinTasks(registry_).ok()); }

  std::unique_ptr<Engine> NewEngine(int threads = 2, int64_t capacity = 100) {
    return std::make_unique<Engine>(
        EngineOptions{
            .pools = {ThreadPool::Options{.name = "thread",
                                          .workers = threads,
                                          .queue_capacity = capacity}},
            .retention = absl::Hours(1)},
        &registry_, &timers_);
  }

  TaskRegistry registry_;
  TimerQueue timers_;
};

TEST_F(EngineTest, RunsASubmittedCallAndFindsItById) {
  auto engine = NewEngine();
  absl::StatusOr<PreparedCall> call =
      engine->Prepare("square", Args({7}), Struct(), "");
  ASSERT_TRUE(call.ok()) << call.status();
  absl::StatusOr<std::shared_ptr<Future>> future =
      engine->Start(*call, std::nullopt, Tracking::kInTable, kPrincipal);
  ASSERT_TRUE(future.ok()) << future.status();
  ASSERT_TRUE(AwaitDone(**future));
  const FutureSnapshot snapshot = (*future)->Snapshot();
  ASSERT_TRUE(snapshot.outcome.has_value());
  EXPECT_EQ(std::get<Value>(*snapshot.outcome).number_value(), 49);
  EXPECT_EQ(snapshot.pool, "thread");
  absl::StatusOr<std::shared_ptr<Future>> found =
      engine->Find((*future)->id(), kPrincipal);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->get(), future->get());
}

TEST_F(EngineTest, StartOnceAnswersARetryWithTheFirstFutureUntilReleased) {
  auto engine = NewEngine();
  const RequestKey key{.principal = std::string(kPrincipal),
                       .request_id = "once"};
  absl::StatusOr<PreparedCall> call =
      engine->Prepare("square", Args({7}), Struct(), "");
  ASSERT_TRUE(call.ok()) << call.status();
  absl::StatusOr<std::shared_ptr<Future>> first =
      engine->StartOnce(key, *call, std::nullopt);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(AwaitDone(**first));

  // The same call by keyword binds to the same arguments: a retry.
  Struct by_keyword;
  (*by_keyword.mutable_fields())["x"].set_number_value(7);
  absl::StatusOr<PreparedCall> same =
      engine->Prepare("square", {}, by_keyword, "thread");
  ASSERT_TRUE(same.ok()) << same.status();
  absl::StatusOr<std::shared_ptr<Future>> retry =
      engine->StartOnce(key, *same, std::nullopt);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->get(), first->get());
  EXPECT_EQ(engine->FutureCount(), 1);

  // Other arguments, or a timeout, make it another call.
  absl::StatusOr<PreparedCall> other =
      engine->Prepare("square", Args({8}), Struct(), "");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(engine->StartOnce(key, *other, std::nullopt).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(engine->StartOnce(key, *call, absl::Seconds(5)).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(engine->FutureCount(), 1);
  EXPECT_EQ(engine->RequestIdCount(), 1);

  // Released: the request ID is free, and starts a new future.
  const std::vector<std::string> ids = {(*first)->id()};
  ASSERT_TRUE(engine->Release(ids, kPrincipal).ok());
  EXPECT_EQ(engine->RequestIdCount(), 0);
  absl::StatusOr<std::shared_ptr<Future>> again =
      engine->StartOnce(key, *other, std::nullopt);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_NE((*again)->id(), (*first)->id());
  ASSERT_TRUE(AwaitDone(**again));
}

TEST_F(EngineTest, ExpiredFuturesFreeTheirRequestIds) {
  Engine engine(EngineOptions{.pools = {ThreadPool::Options{.name = "thread",
                                                            .workers = 1}},
                              .retention = absl::Milliseconds(1)},
                &registry_, &timers_);
  absl::StatusOr<PreparedCall> call =
      engine.Prepare("square", Args({3}), Struct(), "");
  ASSERT_TRUE(call.ok());
  absl::StatusOr<std::shared_ptr<Future>> future = engine.StartOnce(
      {.principal = std::string(kPrincipal), .request_id = "expiring"}, *call,
      std::nullopt);
  ASSERT_TRUE(future.ok());
  ASSERT_TRUE(AwaitDone(**future));
  // The expiry sweep runs every 100 ms here.
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (engine.RequestIdCount() > 0 && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(engine.RequestIdCount(), 0);
  EXPECT_EQ(engine.FutureCount(), 0);
}

TEST_F(EngineTest, PrivateFuturesAreNotInTheTable) {
  auto engine = NewEngine();
  absl::StatusOr<PreparedCall> call =
      engine->Prepare("square", Args({2}), Struct(), "thread");
  ASSERT_TRUE(call.ok());
  absl::StatusOr<std::shared_ptr<Future>> future =
      engine->Start(*call, std::nullopt, Tracking::kPrivate, kPrincipal);
  ASSERT_TRUE(future.ok());
  EXPECT_EQ(engine->Find((*future)->id(), kPrincipal).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(AwaitDone(**future));
}

TEST_F(EngineTest, PrepareRejectsUnknownFunctionPoolAndBadArgs) {
  auto engine = NewEngine();
  EXPECT_EQ(engine->Prepare("nope", Args({}), Struct(), "").status().code(),
            absl::StatusCode::kNotFound);
  absl::Status pool =
      engine->Prepare("square", Args({1}), Struct(), "gpu").status();
  EXPECT_EQ(pool.code(), absl::StatusCode::kNotFound);
  EXPECT_NE(pool.message().find("gpu"), std::string::npos);
  EXPECT_EQ(engine->Prepare("square", Args({}), Struct(), "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(engine->Prepare("", Args({}), Struct(), "").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, PrepareReturnsTheTasksOwnValidateStatus) {
  int validated = 0;
  ASSERT_TRUE(
      registry_
          .Register({.name = "guarded",
                     .params = {{.name = "x", .type = ParamType::kNumber}},
                     .function = [](const TaskContext&, const BoundArgs& args)
                         -> Outcome { return args.Get(0); },
                     .validate =
                         [&validated](const BoundArgs& args) {
                           ++validated;
                           return args.Number(0) < 0
                                      ? absl::PermissionDeniedError(
                                            "no negatives")
                                      : absl::OkStatus();
                         }})
          .ok());
  auto engine = NewEngine();
  EXPECT_TRUE(engine->Prepare("guarded", Args({1}), Struct(), "").ok());
  absl::StatusOr<PreparedCall> refused =
      engine->Prepare("guarded", Args({-1}), Struct(), "");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.status().message(), "no negatives");
  // Arguments that do not bind never reach the hook.
  RepeatedPtrField<Value> text;
  text.Add()->set_string_value("x");
  EXPECT_EQ(engine->Prepare("guarded", text, Struct(), "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(validated, 2);
}

TEST_F(EngineTest, TimeoutFailsARunningTaskAndStopsIt) {
  auto engine = NewEngine();
  absl::StatusOr<PreparedCall> call =
      engine->Prepare("sleep", Args({3600}), Struct(), "");
  ASSERT_TRUE(call.ok());
  absl::StatusOr<std::shared_ptr<Future>> future = engine->Start(
      *call, absl::Milliseconds(50), Tracking::kInTable, kPrincipal);
  ASSERT_TRUE(future.ok());
  ASSERT_TRUE(AwaitDone(**future));
  const FutureSnapshot snapshot = (*future)->Snapshot();
  EXPECT_EQ(snapshot.state, FutureState::kFinished);
  ASSERT_TRUE(snapshot.outcome && IsError(*snapshot.outcome));
  EXPECT_EQ(std::get<TaskError>(*snapshot.outcome).type, "TimeoutError");
  EXPECT_TRUE((*future)->token().IsCancelled());
  // The pool gets its thread back: the stop request reached the task.
  EXPECT_TRUE(engine->Shutdown(absl::Seconds(30)));
}

TEST_F(EngineTest, TimeoutFailsAQueuedFutureThatThenNeverRuns) {
  auto engine = NewEngine(/*threads=*/1);
  absl::StatusOr<PreparedCall> blocker =
      engine->Prepare("sleep", Args({3600}), Struct(), "");
  ASSERT_TRUE(blocker.ok());
  absl::StatusOr<std::shared_ptr<Future>> running =
      engine->Start(*blocker, std::nullopt, Tracking::kInTable, kPrincipal);
  ASSERT_TRUE(running.ok());
  absl::StatusOr<std::shared_ptr<Future>> queued = engine->Start(
      *blocker, absl::Milliseconds(10), Tracking::kInTable, kPrincipal);
  ASSERT_TRUE(queued.ok());
  ASSERT_TRUE(AwaitDone(**queued));
  EXPECT_FALSE((*queued)->Snapshot().start_time.has_value());
  EXPECT_TRUE((*queued)->Raised());
  (*running)->Cancel(absl::Now());
  EXPECT_TRUE(AwaitDone(**running));
}

TEST_F(EngineTest, FullQueueIsResourceExhausted) {
  auto engine = NewEngine(/*threads=*/1, /*capacity=*/1);
  absl::StatusOr<PreparedCall> call =
      engine->Prepare("sleep", Args({3600}), Struct(), "");
  ASSERT_TRUE(call.ok());
  // One may run and one may wait; with the worker perhaps not yet started,
  // the third or the fourth submit must find the queue full.
  std::vector<std::shared_ptr<Future>> started;
  absl::Status status;
  for (int i = 0; i < 4 && status.ok(); ++i) {
    absl::StatusOr<std::shared_ptr<Future>> future =
        engine->Start(*call, std::nullopt, Tracking::kInTable, kPrincipal);
    status = future.status();
    if (future.ok()) started.push_back(*future);
  }
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  for (const auto& future : started) future->Cancel(absl::Now());
  EXPECT_TRUE(engine->Shutdown(absl::Seconds(30)));
}

TEST_F(EngineTest, StartAfterShutdownIsUnavailable) {
  auto engine = NewEngine();
  absl::StatusOr<PreparedCall> call =
      engine->Prepare("echo", Args({1}), Struct(), "");
  ASSERT_TRUE(call.ok());
  EXPECT_TRUE(engine->Shutdown(absl::Seconds(1)));
  EXPECT_EQ(engine->Start(*call, std::nullopt, Tracking::kInTable, kPrincipal)
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(EngineTest, AnotherPrincipalsFutureIsNotFoundAsAnUnknownId) {
  auto engine = NewEngine();
  absl::StatusOr<PreparedCall> call =
      engine->Prepare("echo", Args({1}), Struct(), "");
  ASSERT_TRUE(call.ok());
  absl::StatusOr<std::shared_ptr<Future>> future =
      engine->Start(*call, std::nullopt, Tracking::kInTable, "alice");
  ASSERT_TRUE(future.ok());
  ASSERT_TRUE(AwaitDone(**future));
  const std::string id = (*future)->id();
  EXPECT_TRUE(engine->Find(id, "alice").ok());
  const absl::Status as_bob = engine->Find(id, "bob").status();
  EXPECT_EQ(as_bob.code(), absl::StatusCode::kNotFound);
  // The message of an ID that never existed, with this ID in it.
  EXPECT_EQ(as_bob.message(), absl::StrCat("future ", id, " not found"));
  const std::vector<std::string> ids = {id};
  EXPECT_EQ(engine->Release(ids, "bob").status(), as_bob);
  EXPECT_EQ(engine->Release(ids, "").status(), as_bob);
  absl::StatusOr<int64_t> released = engine->Release(ids, "alice");
  ASSERT_TRUE(released.ok());
  EXPECT_EQ(*released, 1);
}

TEST_F(EngineTest, PendingLimitPerPrincipalDropsAsFuturesFinish) {
  Engine engine(
      EngineOptions{.pools = {ThreadPool::Options{
                        .name = "thread", .workers = 1, .queue_capacity = 100}},
                    .max_pending_per_principal = 2},
      &registry_, &timers_);
  absl::StatusOr<PreparedCall> call =
      engine.Prepare("sleep", Args({3600}), Struct(), "");
  ASSERT_TRUE(call.ok());
  absl::StatusOr<std::shared_ptr<Future>> first =
      engine.Start(*call, std::nullopt, Tracking::kInTable, "alice");
  absl::StatusOr<std::shared_ptr<Future>> second =
      engine.Start(*call, std::nullopt, Tracking::kPrivate, "alice");
  ASSERT_TRUE(first.ok() && second.ok());
  absl::StatusOr<std::shared_ptr<Future>> third =
      engine.Start(*call, std::nullopt, Tracking::kInTable, "alice");
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(third.status().message().find("--max_pending_per_principal"),
            absl::string_view::npos);
  // Another principal has a count of its own.
  absl::StatusOr<std::shared_ptr<Future>> bobs =
      engine.Start(*call, std::nullopt, Tracking::kInTable, "bob");
  ASSERT_TRUE(bobs.ok());
  // A done future gives its slot back.
  (*first)->Cancel(absl::Now());
  ASSERT_TRUE(AwaitDone(**first));
  absl::StatusOr<std::shared_ptr<Future>> fourth =
      engine.Start(*call, std::nullopt, Tracking::kInTable, "alice");
  ASSERT_TRUE(fourth.ok()) << fourth.status();
  for (const auto* f : {&*second, &*bobs, &*fourth}) (*f)->Cancel(absl::Now());
  EXPECT_TRUE(engine.Shutdown(absl::Seconds(30)));
}

TEST_F(EngineTest, StartAllStartsEveryCallOrNone) {
  Engine engine(
      EngineOptions{
          .pools = {ThreadPool::Options{
                        .name = "thread", .workers = 1, .queue_capacity = 100},
                    ThreadPool::Options{.name = "other", .workers = 1}},
          .max_pending_per_principal = 3},
      &registry_, &timers_);
  absl::StatusOr<PreparedCall> sleep =
      engine.Prepare("sleep", Args({3600}), Struct(), "");
  absl::StatusOr<PreparedCall> elsewhere =
      engine.Prepare("sleep", Args({3600}), Struct(), "other");
  ASSERT_TRUE(sleep.ok() && elsewhere.ok());
  absl::StatusOr<std::vector<std::shared_ptr<Future>>> mixed = engine.StartAll(
      {*sleep, *elsewhere}, std::nullopt, Tracking::kPrivate, "alice");
  EXPECT_EQ(mixed.status().code(), absl::StatusCode::kInvalidArgument);
  // Four calls pass alice's limit of three: none starts, none is counted.
  absl::StatusOr<std::vector<std::shared_ptr<Future>>> four =
      engine.StartAll({*sleep, *sleep, *sleep, *sleep}, std::nullopt,
                      Tracking::kPrivate, "alice");
  EXPECT_EQ(four.status().code(), absl::StatusCode::kResourceExhausted);
  for (const PoolStats& pool : engine.PoolStatistics()) {
    EXPECT_EQ(pool.queued + pool.running, 0) << pool.name;
  }
  absl::StatusOr<std::vector<std::shared_ptr<Future>>> three = engine.StartAll(
      {*sleep, *sleep, *sleep}, std::nullopt, Tracking::kInTable, "alice");
  ASSERT_TRUE(three.ok()) << three.status();
  ASSERT_EQ(three->size(), 3u);
  for (const auto& future : *three) {
    EXPECT_TRUE(engine.Find(future->id(), "alice").ok());
  }
  // Each done future gives its slot back.
  (*three)[0]->Cancel(absl::Now());
  ASSERT_TRUE(AwaitDone(*(*three)[0]));
  absl::StatusOr<std::shared_ptr<Future>> fourth =
      engine.Start(*sleep, std::nullopt, Tracking::kPrivate, "alice");
  ASSERT_TRUE(fourth.ok()) << fourth.status();
  for (const auto& future : *three) future->Cancel(absl::Now());
  (*fourth)->Cancel(absl::Now());
  EXPECT_TRUE(engine.Shutdown(absl::Seconds(30)));
}

TEST_F(EngineTest, ReportsPoolStatistics) {
  auto engine = NewEngine(/*threads=*/3, /*capacity=*/50);
  std::vector<PoolStats> stats = engine->PoolStatistics();
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].name, "thread");
  EXPECT_EQ(stats[0].workers, 3);
  EXPECT_EQ(stats[0].queue_capacity, 50);
}

TEST_F(EngineTest, ShutdownStopsEveryPoolBeforeWaitingOnAny) {
  Engine engine(
      EngineOptions{.pools = {ThreadPool::Options{.name = "a", .workers = 1},
                              ThreadPool::Options{.name = "b", .workers = 1}}},
      &registry_, &timers_);
  absl::StatusOr<PreparedCall> long_sleep =
      engine.Prepare("sleep", Args({3600}), Struct(), "a");
  absl::StatusOr<PreparedCall> short_sleep =
      engine.Prepare("sleep", Args({0.05}), Struct(), "b");
  ASSERT_TRUE(long_sleep.ok() && short_sleep.ok());
  absl::StatusOr<std::shared_ptr<Future>> running_in_a =
      engine.Start(*long_sleep, std::nullopt, Tracking::kPrivate, kPrincipal);
  absl::StatusOr<std::shared_ptr<Future>> running_in_b =
      engine.Start(*short_sleep, std::nullopt, Tracking::kPrivate, kPrincipal);
  ASSERT_TRUE(running_in_a.ok() && running_in_b.ok());
  ASSERT_TRUE(AwaitStarted(**running_in_a));
  ASSERT_TRUE(AwaitStarted(**running_in_b));
  absl::StatusOr<std::shared_ptr<Future>> queued_in_b =
      engine.Start(*short_sleep, std::nullopt, Tracking::kPrivate, kPrincipal);
  ASSERT_TRUE(queued_in_b.ok());

  // Pool "a" waits out the grace for its sleep; pool "b" frees its worker
  // meanwhile, and must not start what was queued when shutdown began.
  EXPECT_TRUE(engine.Shutdown(absl::Seconds(1)));
  const FutureSnapshot snapshot = (*queued_in_b)->Snapshot();
  EXPECT_EQ(snapshot.state, FutureState::kCancelled);
  EXPECT_FALSE(snapshot.start_time.has_value());
}

}  // namespace
}  // namespace futured::server
