#include "server/pools/thread_pool.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "server/future/future.h"
#include "server/task/outcome.h"
#include "server/task/task_context.h"
#include "server/task/task_registry.h"

namespace futured::server {
namespace {

using ::google::protobuf::Value;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// Long enough for any healthy run; a wait that reaches it is a failure.
constexpr absl::Duration kTestTimeout = absl::Seconds(30);

Value Num(double d) {
  Value v;
  v.set_number_value(d);
  return v;
}

Value Bool(bool b) {
  Value v;
  v.set_bool_value(b);
  return v;
}

// Waits up to kTestTimeout for `future` to be done. True if it is.
bool WaitDone(Future& future) {
  // Shared with the callback, which may outlive a wait that timed out.
  auto done = std::make_shared<absl::Notification>();
  future.AddDoneCallback([done] { done->Notify(); });
  return done->WaitForNotificationWithTimeout(kTestTimeout);
}

// Builds pools and tasks and makes sure that no worker outlives the test:
// TearDown() opens the gate every blocking task waits on and shuts the pool
// down with a generous grace.
class ThreadPoolTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (!gate_.HasBeenNotified()) gate_.Notify();
    if (pool_ != nullptr) {
      EXPECT_TRUE(pool_->Shutdown(kTestTimeout));
    }
  }

  void MakePool(int workers, int64_t queue_capacity = 100000) {
    pool_ = std::make_unique<ThreadPool>(
        ThreadPool::Options{.name = "thread",
                            .workers = workers,
                            .queue_capacity = queue_capacity});
  }

  // A pool whose DispatchHook records what it is called with, as the
  // journal's would; `in_dispatch` runs inside it after the recording.
  void MakeHookedPool(int workers, std::function<void()> in_dispatch = {}) {
    pool_ = std::make_unique<ThreadPool>(ThreadPool::Options{
        .name = "thread",
        .workers = workers,
        .before_dispatch = [this, in_dispatch](
                               absl::Span<Future* const> futures,
                               int worker_pid) {
          EXPECT_EQ(worker_pid, 0);
          {
            absl::MutexLock lock(&mu_);
            batches_.push_back(futures.size());
            for (const Future* f : futures) dispatched_.insert(f->id());
          }
          if (in_dispatch) in_dispatch();
        }});
  }

  // A spec that outlives the pool, as the registry's do.
  const TaskSpec* Spec(TaskFunction function) {
    TaskSpec& spec = specs_.emplace_back();
    spec.name = absl::StrCat("task", specs_.size());
    spec.function = std::move(function);
    return &spec;
  }

  std::shared_ptr<Future> NewFuture() {
    return std::make_shared<Future>(absl::StrCat("f", next_id_++), "task",
                                    "thread", absl::Now());
  }

  // Submits a new future running `function` and expects it to be queued.
  std::shared_ptr<Future> Submit(TaskFunction function, BoundArgs args = {}) {
    std::shared_ptr<Future> future = NewFuture();
    const absl::Status status = pool_->Submit(
        future, Task{.spec = Spec(std::move(function)), .args = args});
    EXPECT_TRUE(status.ok()) << status;
    return future;
  }

  void MarkStarted() {
    absl::MutexLock lock(&mu_);
    ++started_;
  }

  // A task that marks itself started, then waits for the gate.
  TaskFunction Blocker() {
    return [this](const TaskContext&, const BoundArgs&) -> Outcome {
      MarkStarted();
      if (!gate_.WaitForNotificationWithTimeout(kTestTimeout)) {
        return TaskError{.type = "TestError", .message = "gate never opened"};
      }
      return Value();
    };
  }

  // Waits until `n` tasks have marked themselves started. True if they have.
  bool AwaitStarted(int n) {
    absl::MutexLock lock(&mu_);
    auto reached = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return started_ >= n;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), kTestTimeout);
  }

  // A task that appends `label` to ran_.
  TaskFunction Recorder(int label) {
    return [this, label](const TaskContext&, const BoundArgs&) -> Outcome {
      absl::MutexLock lock(&mu_);
      ran_.push_back(label);
      return Num(label);
    };
  }

  std::vector<int> Ran() {
    absl::MutexLock lock(&mu_);
    return ran_;
  }

  // A task that counts, in unrecorded_, a run of future `id` that the
  // DispatchHook was not called for first.
  TaskFunction CheckDispatched(std::string id) {
    return [this, id](const TaskContext&, const BoundArgs&) -> Outcome {
      absl::MutexLock lock(&mu_);
      if (!dispatched_.contains(id)) ++unrecorded_;
      return Value();
    };
  }

  // SubmitAll() of `functions`, one new future each: queued together.
  std::vector<std::shared_ptr<Future>> SubmitTogether(
      std::vector<TaskFunction> functions) {
    std::vector<std::shared_ptr<Future>> futures;
    std::vector<QueuedTask> tasks;
    for (TaskFunction& function : functions) {
      futures.push_back(NewFuture());
      tasks.push_back(QueuedTask{
          futures.back(), Task{.spec = Spec(std::move(function)), .args = {}}});
    }
    const absl::Status status = pool_->SubmitAll(std::move(tasks));
    EXPECT_TRUE(status.ok()) << status;
    return futures;
  }

  // Declared before pool_, so they outlive its workers.
  absl::Notification gate_;
  std::deque<TaskSpec> specs_;
  absl::Mutex mu_;
  int started_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int> ran_ ABSL_GUARDED_BY(mu_);
  // What MakeHookedPool()'s hook saw.
  std::vector<size_t> batches_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> dispatched_ ABSL_GUARDED_BY(mu_);
  int unrecorded_ ABSL_GUARDED_BY(mu_) = 0;

  int next_id_ = 1;
  std::unique_ptr<ThreadPool> pool_;
};

TEST_F(ThreadPoolTest, RunsTaskAndFinishesFutureWithItsValue) {
  MakePool(2);
  absl::Time ran_at;  // written by the task, read once its future is done
  std::shared_ptr<Future> future = Submit(
      [&ran_at](const TaskContext&, const BoundArgs& args) -> Outcome {
        ran_at = absl::Now();
        return Num(args.Number(0) * 2);
      },
      BoundArgs({Num(21)}));

  ASSERT_TRUE(WaitDone(*future));
  const FutureSnapshot snapshot = future->Snapshot();
  EXPECT_EQ(snapshot.state, FutureState::kFinished);
  ASSERT_TRUE(snapshot.outcome.has_value());
  ASSERT_TRUE(std::holds_alternative<Value>(*snapshot.outcome));
  EXPECT_EQ(std::get<Value>(*snapshot.outcome).number_value(), 42);
  ASSERT_TRUE(snapshot.start_time.has_value());
  ASSERT_TRUE(snapshot.end_time.has_value());
  EXPECT_LE(*snapshot.start_time, ran_at);
  EXPECT_GE(*snapshot.end_time, ran_at);
}

TEST_F(ThreadPoolTest, KeepsTheErrorATaskReturns) {
  MakePool(1);
  std::shared_ptr<Future> future =
      Submit([](const TaskContext&, const BoundArgs&) -> Outcome {
        return TaskError{.type = "ValueError", .message = "bad value"};
      });

  ASSERT_TRUE(WaitDone(*future));
  const FutureSnapshot snapshot = future->Snapshot();
  EXPECT_EQ(snapshot.state, FutureState::kFinished);
  ASSERT_TRUE(snapshot.outcome.has_value());
  ASSERT_TRUE(IsError(*snapshot.outcome));
  EXPECT_EQ(std::get<TaskError>(*snapshot.outcome).type, "ValueError");
  EXPECT_EQ(std::get<TaskError>(*snapshot.outcome).message, "bad value");
}

TEST_F(ThreadPoolTest, TaskSeesItsFuturesDeadline) {
  MakePool(1);
  const absl::Time deadline = absl::Now() + absl::Hours(1);
  auto future =
      std::make_shared<Future>("f", "task", "thread", absl::Now(), deadline);
  const TaskSpec* spec =
      Spec([](const TaskContext& ctx, const BoundArgs&) -> Outcome {
        return Num(absl::ToUnixSeconds(ctx.deadline()));
      });
  ASSERT_TRUE(pool_->Submit(future, Task{.spec = spec, .args = {}}).ok());

  ASSERT_TRUE(WaitDone(*future));
  const FutureSnapshot snapshot = future->Snapshot();
  ASSERT_TRUE(std::holds_alternative<Value>(*snapshot.outcome));
  EXPECT_EQ(std::get<Value>(*snapshot.outcome).number_value(),
            absl::ToUnixSeconds(deadline));
}

TEST_F(ThreadPoolTest, ThrowingTaskFinishesWithRuntimeError) {
  MakePool(2);
  std::shared_ptr<Future> std_exception =
      Submit([](const TaskContext&, const BoundArgs&) -> Outcome {
        throw std::invalid_argument("boom");
      });
  std::shared_ptr<Future> other_exception =
      Submit([](const TaskContext&, const BoundArgs&) -> Outcome { throw 42; });

  ASSERT_TRUE(WaitDone(*std_exception));
  ASSERT_TRUE(WaitDone(*other_exception));
  FutureSnapshot snapshot = std_exception->Snapshot();
  EXPECT_EQ(snapshot.state, FutureState::kFinished);
  ASSERT_TRUE(IsError(*snapshot.outcome));
  EXPECT_EQ(std::get<TaskError>(*snapshot.outcome).type, "RuntimeError");
  EXPECT_EQ(std::get<TaskError>(*snapshot.outcome).message, "boom");

  snapshot = other_exception->Snapshot();
  EXPECT_EQ(snapshot.state, FutureState::kFinished);
  ASSERT_TRUE(IsError(*snapshot.outcome));
  EXPECT_EQ(std::get<TaskError>(*snapshot.outcome).type, "RuntimeError");
  EXPECT_EQ(std::get<TaskError>(*snapshot.outcome).message,
            "unknown exception");
}

TEST_F(ThreadPoolTest, OneWorkerRunsTasksInSubmitOrder) {
  MakePool(1);
  Submit(Blocker());
  ASSERT_TRUE(AwaitStarted(1));
  std::vector<std::shared_ptr<Future>> futures;
  for (int i = 0; i < 5; ++i) futures.push_back(Submit(Recorder(i)));
  gate_.Notify();

  for (const auto& future : futures) ASSERT_TRUE(WaitDone(*future));
  EXPECT_THAT(Ran(), ElementsAre(0, 1, 2, 3, 4));
}

TEST_F(ThreadPoolTest, FullQueueIsResourceExhausted) {
  MakePool(/*workers=*/2, /*queue_capacity=*/3);
  Submit(Blocker());
  Submit(Blocker());
  ASSERT_TRUE(AwaitStarted(2));  // both out of the queue
  std::vector<std::shared_ptr<Future>> queued;
  for (int i = 0; i < 3; ++i) queued.push_back(Submit(Recorder(i)));

  std::shared_ptr<Future> refused = NewFuture();
  const absl::Status status =
      pool_->Submit(refused, Task{.spec = Spec(Recorder(99)), .args = {}});
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(), "thread pool 'thread' queue is full (3 queued)");
  EXPECT_EQ(refused->state(), FutureState::kPending);

  gate_.Notify();
  for (const auto& future : queued) ASSERT_TRUE(WaitDone(*future));
  // Two workers: the three may finish in any order.
  EXPECT_THAT(Ran(), UnorderedElementsAre(0, 1, 2));
}

TEST_F(ThreadPoolTest, SubmitAllQueuesEveryTaskInOrderOrNone) {
  MakePool(/*workers=*/1, /*queue_capacity=*/4);
  Submit(Blocker());
  ASSERT_TRUE(AwaitStarted(1));
  Submit(Recorder(0));
  auto tasks_of = [&](std::vector<int> values) {
    std::vector<QueuedTask> tasks;
    for (int v : values) {
      tasks.push_back(
          QueuedTask{NewFuture(), Task{.spec = Spec(Recorder(v)), .args = {}}});
    }
    return tasks;
  };
  std::vector<QueuedTask> too_many = tasks_of({90, 91, 92, 93});
  std::vector<std::shared_ptr<Future>> refused;
  for (const QueuedTask& t : too_many) refused.push_back(t.future);
  const absl::Status status = pool_->SubmitAll(std::move(too_many));
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(status.message(),
            "thread pool 'thread' queue has no room for 4 more tasks (1 "
            "queued of at most 4)");
  std::vector<QueuedTask> fitting = tasks_of({1, 2, 3});
  std::vector<std::shared_ptr<Future>> queued;
  for (const QueuedTask& t : fitting) queued.push_back(t.future);
  ASSERT_TRUE(pool_->SubmitAll(std::move(fitting)).ok());

  gate_.Notify();
  for (const auto& future : queued) ASSERT_TRUE(WaitDone(*future));
  for (const auto& future : refused) {
    EXPECT_EQ(future->state(), FutureState::kPending);
  }
  EXPECT_THAT(Ran(), ElementsAre(0, 1, 2, 3));  // one worker: queue order
}

TEST_F(ThreadPoolTest, StatsCountQueuedAndRunningTasks) {
  MakePool(/*workers=*/2, /*queue_capacity=*/10);
  PoolStats stats = pool_->Stats();
  EXPECT_EQ(stats.name, "thread");
  EXPECT_EQ(stats.kind, "thread");
  EXPECT_EQ(stats.workers, 2);
  EXPECT_EQ(stats.queued, 0);
  EXPECT_EQ(stats.running, 0);
  EXPECT_EQ(stats.queue_capacity, 10);

  Submit(Blocker());
  Submit(Blocker());
  ASSERT_TRUE(AwaitStarted(2));
  for (int i = 0; i < 3; ++i) Submit(Recorder(i));
  stats = pool_->Stats();
  EXPECT_EQ(stats.queued, 3);
  EXPECT_EQ(stats.running, 2);

  gate_.Notify();
  ASSERT_TRUE(pool_->Shutdown(kTestTimeout));
  stats = pool_->Stats();
  EXPECT_EQ(stats.queued, 0);
  EXPECT_EQ(stats.running, 0);
}

TEST_F(ThreadPoolTest, FutureCancelledInTheQueueNeverRuns) {
  MakePool(1);
  Submit(Blocker());
  ASSERT_TRUE(AwaitStarted(1));
  std::shared_ptr<Future> cancelled = Submit(Recorder(1));
  std::shared_ptr<Future> after = Submit(Recorder(2));
  EXPECT_EQ(cancelled->Cancel(absl::Now()), CancelAction::kCancelledPending);
  gate_.Notify();

  ASSERT_TRUE(WaitDone(*after));  // one worker, FIFO: `cancelled` was skipped
  EXPECT_THAT(Ran(), ElementsAre(2));
  const FutureSnapshot snapshot = cancelled->Snapshot();
  EXPECT_EQ(snapshot.state, FutureState::kCancelled);
  EXPECT_FALSE(snapshot.start_time.has_value());
}

TEST_F(ThreadPoolTest, SubmitAfterShutdownIsUnavailable) {
  MakePool(2);
  ASSERT_TRUE(pool_->Shutdown(kTestTimeout));

  std::shared_ptr<Future> future = NewFuture();
  const absl::Status status =
      pool_->Submit(future, Task{.spec = Spec(Recorder(1)), .args = {}});
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(status.message(), "thread pool 'thread' is shutting down");
  EXPECT_EQ(future->state(), FutureState::kPending);
}

TEST_F(ThreadPoolTest, ShutdownCancelsQueuedFuturesAndLetsRunningOnesFinish) {
  MakePool(1);
  std::shared_ptr<Future> running = Submit(Blocker());
  ASSERT_TRUE(AwaitStarted(1));
  std::shared_ptr<Future> queued1 = Submit(Recorder(1));
  std::shared_ptr<Future> queued2 = Submit(Recorder(2));
  // The running task may end only once Shutdown() has cancelled the queue.
  queued2->AddDoneCallback([this] { gate_.Notify(); });

  EXPECT_TRUE(pool_->Shutdown(kTestTimeout));
  EXPECT_EQ(queued1->state(), FutureState::kCancelled);
  EXPECT_EQ(queued2->state(), FutureState::kCancelled);
  EXPECT_EQ(running->state(), FutureState::kFinished);
  EXPECT_FALSE(running->token().IsCancelled());  // it ended within the grace
  EXPECT_THAT(Ran(), ElementsAre());
}

TEST_F(ThreadPoolTest, ShutdownCancelsTheTokenOfATaskStillRunning) {
  MakePool(1);
  std::shared_ptr<Future> future =
      Submit([this](const TaskContext& ctx, const BoundArgs&) -> Outcome {
        MarkStarted();
        if (!ctx.SleepFor(absl::Hours(1))) return Cancelled{};
        return Value();
      });
  ASSERT_TRUE(AwaitStarted(1));

  // No grace: the token is cancelled at once, and the task ends on it.
  EXPECT_TRUE(pool_->Shutdown(absl::ZeroDuration(), kTestTimeout));
  EXPECT_TRUE(future->token().IsCancelled());
  EXPECT_EQ(future->state(), FutureState::kCancelled);
}

TEST_F(ThreadPoolTest, ShutdownReportsATaskThatIgnoresItsToken) {
  MakePool(1);
  std::shared_ptr<Future> future = Submit(Blocker());
  ASSERT_TRUE(AwaitStarted(1));

  EXPECT_FALSE(pool_->Shutdown(absl::Milliseconds(10),
                               absl::Milliseconds(10)));  // gate is shut
  EXPECT_TRUE(future->token().IsCancelled());
  EXPECT_EQ(future->state(), FutureState::kRunning);

  gate_.Notify();
  EXPECT_TRUE(pool_->Shutdown(kTestTimeout));  // joins it now
  EXPECT_EQ(future->state(), FutureState::kFinished);
}

TEST_F(ThreadPoolTest, DestructorDetachesAWorkerStuckInATask) {
  MakePool(1);
  // Shared with the task, which outlives the pool.
  auto task_gate = std::make_shared<absl::Notification>();
  std::shared_ptr<Future> future = Submit(
      [this, task_gate](const TaskContext&, const BoundArgs&) -> Outcome {
        MarkStarted();
        task_gate->WaitForNotificationWithTimeout(kTestTimeout);
        return Value();
      });
  ASSERT_TRUE(AwaitStarted(1));

  pool_.reset();  // returns although the task ignores its token
  EXPECT_TRUE(future->token().IsCancelled());
  EXPECT_EQ(future->state(), FutureState::kRunning);

  task_gate->Notify();
  ASSERT_TRUE(WaitDone(*future));  // the detached worker finished it
  EXPECT_EQ(future->state(), FutureState::kFinished);
}

TEST_F(ThreadPoolTest, RunsAsManyTasksAtOnceAsItHasWorkers) {
  constexpr int kWorkers = 4;
  MakePool(kWorkers);
  // Each task returns whether all kWorkers tasks were running together; in a
  // pool that ran fewer at once, the first would time out waiting.
  TaskFunction rendezvous = [this](const TaskContext&, const BoundArgs&) {
    MarkStarted();
    absl::MutexLock lock(&mu_);
    auto all_started = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return started_ == kWorkers;
    };
    return Outcome(Bool(mu_.AwaitWithTimeout(absl::Condition(&all_started),
                                             absl::Seconds(20))));
  };
  std::vector<std::shared_ptr<Future>> futures;
  for (int i = 0; i < kWorkers; ++i) futures.push_back(Submit(rendezvous));

  for (const auto& future : futures) {
    ASSERT_TRUE(WaitDone(*future));
    const FutureSnapshot snapshot = future->Snapshot();
    ASSERT_TRUE(std::holds_alternative<Value>(*snapshot.outcome));
    EXPECT_TRUE(std::get<Value>(*snapshot.outcome).bool_value());
  }
}

TEST_F(ThreadPoolTest, WorkersShowTheFutureEachThreadRuns) {
  MakePool(2);
  EXPECT_EQ(pool_->Workers().size(), 2u);
  std::shared_ptr<Future> blocked = Submit(Blocker());
  ASSERT_TRUE(AwaitStarted(1));
  const std::vector<WorkerView> workers = pool_->Workers();
  ASSERT_EQ(workers.size(), 2u);
  int busy = 0;
  for (const WorkerView& worker : workers) {
    EXPECT_EQ(worker.pid, 0);
    if (worker.future == nullptr) continue;
    ++busy;
    EXPECT_EQ(worker.future, blocked);
  }
  EXPECT_EQ(busy, 1);
  gate_.Notify();
  ASSERT_TRUE(WaitDone(*blocked));
}

// The journal's hook is called for many queued futures at once (one commit
// for them all), and always before any of them runs.
TEST_F(ThreadPoolTest, DispatchHookTakesQueuedFuturesInBatchesBeforeTheyRun) {
  MakeHookedPool(2);
  constexpr int kTasks = 300;
  std::vector<TaskFunction> functions;
  for (int i = 0; i < kTasks; ++i) {
    functions.push_back(CheckDispatched(absl::StrCat("f", next_id_ + i)));
  }
  for (const std::shared_ptr<Future>& future :
       SubmitTogether(std::move(functions))) {
    ASSERT_TRUE(WaitDone(*future));
    EXPECT_EQ(future->Snapshot().state, FutureState::kFinished);
  }
  absl::MutexLock lock(&mu_);
  EXPECT_EQ(unrecorded_, 0) << "tasks ran before the hook saw them";
  size_t total = 0;
  for (size_t batch : batches_) total += batch;
  EXPECT_EQ(total, static_cast<size_t>(kTasks));
  // Queued together, the first batch is a whole window.
  EXPECT_EQ(*std::max_element(batches_.begin(), batches_.end()),
            ThreadPool::kDispatchWindow);
}

// Dispatched, and so journaled as started, but never taken by a worker: the
// stop cancels them, never started (the journal then has them pending
// again).
TEST_F(ThreadPoolTest, StopCancelsDispatchedFuturesThatNeverStarted) {
  MakeHookedPool(1);
  std::vector<std::shared_ptr<Future>> futures =
      SubmitTogether({Blocker(), Recorder(1), Recorder(2), Recorder(3)});
  ASSERT_TRUE(AwaitStarted(1));
  {
    absl::MutexLock lock(&mu_);
    EXPECT_THAT(batches_, ElementsAre(4u));
  }
  pool_->StopAccepting();
  for (int i = 1; i <= 3; ++i) {
    EXPECT_EQ(futures[i]->Snapshot().state, FutureState::kCancelled);
  }
  gate_.Notify();
  ASSERT_TRUE(WaitDone(*futures[0]));
  EXPECT_EQ(futures[0]->Snapshot().state, FutureState::kFinished);
  EXPECT_THAT(Ran(), ::testing::IsEmpty());
  for (int i = 1; i <= 3; ++i) {
    EXPECT_FALSE(futures[i]->Snapshot().start_time.has_value());
  }
}

// Dispatched but not yet taken by a thread, futures still take room in the
// queue.
TEST_F(ThreadPoolTest, DispatchedFuturesCountAgainstTheQueuesCapacity) {
  pool_ = std::make_unique<ThreadPool>(ThreadPool::Options{
      .name = "thread",
      .workers = 1,
      .queue_capacity = 4,
      .before_dispatch = [](absl::Span<Future* const>, int) {}});
  SubmitTogether({Blocker(), Recorder(1), Recorder(2), Recorder(3)});
  ASSERT_TRUE(AwaitStarted(1));  // the other three wait, dispatched
  EXPECT_EQ(pool_->Stats().queued, 3);
  Submit(Recorder(4));
  const absl::Status status =
      pool_->Submit(NewFuture(), Task{.spec = Spec(Recorder(5)), .args = {}});
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
}

// While the hook records them (the journal's commit may take a while),
// futures still take room in the queue.
TEST_F(ThreadPoolTest, FuturesInTheDispatchHookCountAgainstTheQueuesCapacity) {
  absl::Notification in_hook;
  absl::Notification leave_hook;
  pool_ = std::make_unique<ThreadPool>(ThreadPool::Options{
      .name = "thread",
      .workers = 1,
      .queue_capacity = 2,
      .before_dispatch = [&](absl::Span<Future* const>, int) {
        if (!in_hook.HasBeenNotified()) in_hook.Notify();
        leave_hook.WaitForNotificationWithTimeout(kTestTimeout);
      }});
  std::vector<std::shared_ptr<Future>> futures =
      SubmitTogether({Recorder(1), Recorder(2)});
  ASSERT_TRUE(in_hook.WaitForNotificationWithTimeout(kTestTimeout));
  EXPECT_EQ(pool_->Stats().queued, 2);
  const absl::Status status =
      pool_->Submit(NewFuture(), Task{.spec = Spec(Recorder(3)), .args = {}});
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  leave_hook.Notify();
  for (const std::shared_ptr<Future>& future : futures) {
    ASSERT_TRUE(WaitDone(*future));
  }
}

// The stop comes while a worker waits in the hook: that batch is cancelled
// too, none of it run.
TEST_F(ThreadPoolTest, StopDuringTheDispatchHookCancelsItsBatch) {
  absl::Notification in_hook;
  absl::Notification leave_hook;
  MakeHookedPool(1, [&] {
    in_hook.Notify();
    leave_hook.WaitForNotificationWithTimeout(kTestTimeout);
  });
  std::vector<std::shared_ptr<Future>> futures =
      SubmitTogether({Recorder(1), Recorder(2)});
  ASSERT_TRUE(in_hook.WaitForNotificationWithTimeout(kTestTimeout));
  pool_->StopAccepting();
  leave_hook.Notify();
  for (const std::shared_ptr<Future>& future : futures) {
    ASSERT_TRUE(WaitDone(*future));
    EXPECT_EQ(future->Snapshot().state, FutureState::kCancelled);
  }
  EXPECT_THAT(Ran(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace futured::server
