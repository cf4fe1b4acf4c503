#include "server/pools/process_pool.h"

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/future/future.h"
#include "server/task/outcome.h"
#include "server/task/task_registry.h"
#include "server/tasks/builtin_tasks.h"
#include "tests/sanitizer_build.h"
#include "tests/server/value_builders.h"

namespace futured::server {
namespace {

using ::futured::testing::Args;
using ::futured::testing::Num;
using ::futured::testing::Str;
using ::google::protobuf::Value;
using ::testing::HasSubstr;

// Long enough for any healthy run; a wait that reaches it is a failure.
constexpr absl::Duration kTestTimeout = absl::Seconds(30);

// Waits up to kTestTimeout for `future` to be done. True if it is.
bool WaitDone(Future& future) {
  auto done = std::make_shared<absl::Notification>();
  future.AddDoneCallback([done] { done->Notify(); });
  return done->WaitForNotificationWithTimeout(kTestTimeout);
}

// Polls every 10 ms, for at most kTestTimeout, until `condition` holds.
template <typename Condition>
bool PollUntil(Condition condition) {
  const absl::Time deadline = absl::Now() + kTestTimeout;
  while (!condition()) {
    if (absl::Now() > deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

bool ProcessGone(pid_t pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

// A path for a file the test's tasks may create; none there yet.
std::string TempPath(absl::string_view name) {
  const std::string path =
      absl::StrCat(::testing::TempDir(), "/futured-", getpid(), "-", name);
  std::filesystem::remove(path);
  return path;
}

google::protobuf::RepeatedPtrField<Value> TouchArgs(const std::string& path) {
  Value argv;
  *argv.mutable_list_value()->add_values() = Str("/usr/bin/touch");
  *argv.mutable_list_value()->add_values() = Str(path);
  return Args({argv});
}

const TaskError& ErrorOf(const FutureSnapshot& snapshot) {
  static const TaskError kNone{"none", "", {}};
  if (!snapshot.outcome || !IsError(*snapshot.outcome)) return kNone;
  return std::get<TaskError>(*snapshot.outcome);
}

// Each test makes its own pool of futured-worker processes; TearDown shuts
// it down, which ends every worker.
class ProcessPoolTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(RegisterBuiltinTasks(registry_).ok()); }
  void TearDown() override {
    if (pool_ != nullptr) {
      EXPECT_TRUE(pool_->Shutdown(kTestTimeout));
    }
  }

  // A pool of `workers` futured-workers, its other options as `configure`
  // sets them.
  void MakePool(
      int workers,
      const std::function<void(ProcessPool::Options&)>& configure = nullptr) {
    ProcessPool::Options options;
    options.workers = workers;
    options.worker_binary = FUTURED_WORKER_BINARY;
    if (configure) configure(options);
    pool_ = std::make_unique<ProcessPool>(std::move(options));
  }

  absl::StatusOr<std::shared_ptr<Future>> TrySubmit(
      absl::string_view function,
      google::protobuf::RepeatedPtrField<Value> args = {}) {
    absl::StatusOr<const TaskSpec*> spec = registry_.Find(function);
    if (!spec.ok()) return spec.status();
    absl::StatusOr<BoundArgs> bound =
        BindArgs(**spec, args, google::protobuf::Struct());
    if (!bound.ok()) return bound.status();
    auto future =
        std::make_shared<Future>(absl::StrCat("f", next_id_++),
                                 std::string(function), "process", absl::Now());
    absl::Status status =
        pool_->Submit(future, Task{.spec = *spec, .args = *std::move(bound)});
    if (!status.ok()) return status;
    return future;
  }

  std::shared_ptr<Future> Submit(
      absl::string_view function,
      google::protobuf::RepeatedPtrField<Value> args = {}) {
    absl::StatusOr<std::shared_ptr<Future>> future =
        TrySubmit(function, std::move(args));
    EXPECT_TRUE(future.ok()) << future.status();
    return future.value_or(nullptr);
  }

  // Waits until `future` runs and returns its worker's pid (0 if it never
  // ran).
  static pid_t AwaitRunning(const Future& future) {
    PollUntil([&] { return future.state() != FutureState::kPending; });
    return future.Snapshot().worker_pid;
  }

  TaskRegistry registry_;
  std::unique_ptr<ProcessPool> pool_;
  int next_id_ = 1;
};

TEST_F(ProcessPoolTest, RunsATaskInAWorkerProcessAndNamesIt) {
  MakePool(1);
  std::shared_ptr<Future> future = Submit("pid");
  ASSERT_TRUE(WaitDone(*future));
  const FutureSnapshot snapshot = future->Snapshot();
  EXPECT_EQ(snapshot.state, FutureState::kFinished);
  ASSERT_TRUE(snapshot.outcome &&
              std::holds_alternative<Value>(*snapshot.outcome));
  const pid_t reported =
      static_cast<pid_t>(std::get<Value>(*snapshot.outcome).number_value());
  EXPECT_NE(reported, getpid());
  EXPECT_EQ(reported, snapshot.worker_pid);
}

TEST_F(ProcessPoolTest, ReturnsValuesAndErrorsOfTasks) {
  MakePool(2);
  std::shared_ptr<Future> square = Submit("square", Args({Num(12)}));
  std::shared_ptr<Future> fail =
      Submit("fail", Args({Str("ValueError"), Str("bad input")}));
  ASSERT_TRUE(WaitDone(*square));
  ASSERT_TRUE(WaitDone(*fail));
  EXPECT_EQ(std::get<Value>(*square->Snapshot().outcome).number_value(), 144);
  EXPECT_EQ(ErrorOf(fail->Snapshot()).type, "ValueError");
  EXPECT_EQ(ErrorOf(fail->Snapshot()).message, "bad input");
}

TEST_F(ProcessPoolTest, CrashFailsOnlyItsFutureAndTheWorkerIsReplaced) {
  MakePool(1);
  std::shared_ptr<Future> segv = Submit("crash", Args({Str("segv")}));
  std::shared_ptr<Future> abort = Submit("crash", Args({Str("abort")}));
  std::shared_ptr<Future> exit = Submit("crash", Args({Str("exit"), Num(3)}));
  std::shared_ptr<Future> after = Submit("echo", Args({Str("still here")}));
  for (const auto& f : {segv, abort, exit, after}) ASSERT_TRUE(WaitDone(*f));

  EXPECT_EQ(ErrorOf(segv->Snapshot()).type, "WorkerDiedError");
  EXPECT_THAT(ErrorOf(segv->Snapshot()).message,
              HasSubstr("was killed by SIGSEGV while running crash"));
  EXPECT_THAT(ErrorOf(abort->Snapshot()).message, HasSubstr("SIGABRT"));
  EXPECT_THAT(ErrorOf(exit->Snapshot()).message,
              HasSubstr("exited with code 3"));
  EXPECT_EQ(std::get<Value>(*after->Snapshot().outcome).string_value(),
            "still here");
  EXPECT_EQ(pool_->Stats().worker_restarts, 3);
  for (const auto& f : {segv, abort, exit}) {
    EXPECT_TRUE(ProcessGone(f->Snapshot().worker_pid));
  }
}

TEST_F(ProcessPoolTest, CancelKillsTheWorkerOfARunningTask) {
  MakePool(1, [](auto& o) { o.kill_grace = absl::Seconds(5); });
  std::shared_ptr<Future> burn = Submit("burn_cpu", Args({Num(600)}));
  const pid_t pid = AwaitRunning(*burn);
  ASSERT_GT(pid, 0);
  EXPECT_EQ(burn->Cancel(absl::Now()), CancelAction::kStopRequested);
  ASSERT_TRUE(WaitDone(*burn));
  EXPECT_EQ(burn->state(), FutureState::kCancelled);
  EXPECT_TRUE(PollUntil([pid] { return ProcessGone(pid); }));
  // A new worker takes the next task.
  std::shared_ptr<Future> next = Submit("pid");
  ASSERT_TRUE(WaitDone(*next));
  EXPECT_NE(next->Snapshot().worker_pid, pid);
}

TEST_F(ProcessPoolTest, StopRequestAfterADeadlineKillsTheWorker) {
  MakePool(1);
  std::shared_ptr<Future> burn = Submit("burn_cpu", Args({Num(600)}));
  const pid_t pid = AwaitRunning(*burn);
  ASSERT_GT(pid, 0);
  // What the engine does when a Submit timeout passes.
  ASSERT_TRUE(burn->Finish(TaskError{"TimeoutError", "deadline passed", {}},
                           absl::Now()));
  burn->RequestStop();
  EXPECT_TRUE(PollUntil([pid] { return ProcessGone(pid); }));
  EXPECT_EQ(ErrorOf(burn->Snapshot()).type, "TimeoutError");
  EXPECT_TRUE(PollUntil([this] { return pool_->Stats().running == 0; }));
}

TEST_F(ProcessPoolTest, AWorkerIgnoringSigtermIsKilledAfterTheGrace) {
  // A stopped process cannot act on SIGTERM until continued; SIGKILL still
  // ends it.
  MakePool(1, [](auto& o) { o.kill_grace = absl::Milliseconds(100); });
  std::shared_ptr<Future> burn = Submit("burn_cpu", Args({Num(600)}));
  const pid_t pid = AwaitRunning(*burn);
  ASSERT_GT(pid, 0);
  ASSERT_EQ(kill(pid, SIGSTOP), 0);
  burn->Cancel(absl::Now());
  ASSERT_TRUE(WaitDone(*burn));
  EXPECT_EQ(burn->state(), FutureState::kCancelled);
  EXPECT_TRUE(PollUntil([pid] { return ProcessGone(pid); }));
}

TEST_F(ProcessPoolTest, MemoryLimitMakesAllocationAMemoryError) {
  if (futured::testing::kAddressSanitizer ||
      futured::testing::kThreadSanitizer) {
    GTEST_SKIP()
        << "an address-space limit cannot hold the sanitizer's shadow memory";
  }
  MakePool(1, [](auto& o) { o.memory_limit_bytes = int64_t{512} << 20; });
  std::shared_ptr<Future> big = Submit("allocate", Args({Num(1 << 30)}));
  std::shared_ptr<Future> small = Submit("allocate", Args({Num(1 << 20)}));
  ASSERT_TRUE(WaitDone(*big));
  ASSERT_TRUE(WaitDone(*small));
  EXPECT_EQ(ErrorOf(big->Snapshot()).type, "MemoryError");
  EXPECT_THAT(ErrorOf(big->Snapshot()).message,
              HasSubstr("cannot allocate 1073741824 bytes"));
  EXPECT_EQ(small->state(), FutureState::kFinished);
  EXPECT_FALSE(IsError(*small->Snapshot().outcome));
}

TEST_F(ProcessPoolTest, CpuLimitKillsATaskThatUsesMore) {
  MakePool(1, [](auto& o) { o.cpu_limit = absl::Seconds(1); });
  std::shared_ptr<Future> burn = Submit("burn_cpu", Args({Num(60)}));
  ASSERT_TRUE(WaitDone(*burn));
  EXPECT_EQ(ErrorOf(burn->Snapshot()).type, "WorkerDiedError");
  EXPECT_THAT(ErrorOf(burn->Snapshot()).message,
              HasSubstr("SIGXCPU while running burn_cpu: it used up its "
                        "CPU-time limit of 1s"));
}

TEST_F(ProcessPoolTest, RecyclesAWorkerAfterMaxTasksPerChild) {
  MakePool(1, [](auto& o) { o.max_tasks_per_child = 2; });
  std::vector<pid_t> pids;
  for (int i = 0; i < 4; ++i) {
    std::shared_ptr<Future> future = Submit("pid");
    ASSERT_TRUE(WaitDone(*future));
    pids.push_back(future->Snapshot().worker_pid);
  }
  EXPECT_EQ(pids[0], pids[1]);
  EXPECT_EQ(pids[2], pids[3]);
  EXPECT_NE(pids[1], pids[2]);
  EXPECT_TRUE(PollUntil([&] { return ProcessGone(pids[0]); }));
}

TEST_F(ProcessPoolTest, NoWorkerCanStartMakesSubmitUnavailable) {
  MakePool(1, [](auto& o) {
    o.worker_binary = "/nonexistent/futured-worker";
    o.max_start_failures = 2;
  });
  absl::StatusOr<std::shared_ptr<Future>> queued = TrySubmit("pid");
  std::shared_ptr<Future> queued_future;
  if (queued.ok()) queued_future = *queued;  // unless already broken
  EXPECT_TRUE(PollUntil([this] {
    return TrySubmit("pid").status().code() == absl::StatusCode::kUnavailable;
  }));
  absl::Status status = TrySubmit("pid").status();
  EXPECT_THAT(status.message(), HasSubstr("cannot start workers"));
  EXPECT_THAT(status.message(), HasSubstr("/nonexistent/futured-worker"));
  if (queued_future != nullptr) {
    ASSERT_TRUE(WaitDone(*queued_future));
    EXPECT_EQ(ErrorOf(queued_future->Snapshot()).type, "BrokenProcessPool");
  }
}

TEST_F(ProcessPoolTest, ShutdownCancelsQueuedAndKillsRunningTasks) {
  MakePool(1);
  std::shared_ptr<Future> running = Submit("burn_cpu", Args({Num(600)}));
  std::shared_ptr<Future> queued = Submit("echo", Args({Num(1)}));
  const pid_t pid = AwaitRunning(*running);
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(pool_->Shutdown(absl::Milliseconds(50)));
  EXPECT_EQ(queued->state(), FutureState::kCancelled);
  EXPECT_EQ(running->state(), FutureState::kCancelled);
  EXPECT_TRUE(ProcessGone(pid));  // reaped before Shutdown returned
  EXPECT_EQ(pool_->Submit(running, Task{}).code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(ProcessPoolTest, StatsCountQueuedAndRunning) {
  MakePool(1, [](auto& o) { o.queue_capacity = 2; });
  std::shared_ptr<Future> running = Submit("burn_cpu", Args({Num(600)}));
  AwaitRunning(*running);
  Submit("echo", Args({Num(1)}));
  Submit("echo", Args({Num(2)}));
  EXPECT_EQ(TrySubmit("echo", Args({Num(3)})).status().code(),
            absl::StatusCode::kResourceExhausted);
  const PoolStats stats = pool_->Stats();
  EXPECT_EQ(stats.kind, "process");
  EXPECT_EQ(stats.workers, 1);
  EXPECT_EQ(stats.running, 1);
  EXPECT_EQ(stats.queued, 2);
  EXPECT_EQ(stats.queue_capacity, 2);
  running->Cancel(absl::Now());
}

TEST_F(ProcessPoolTest, WorkersNameTheirPidsAndTheFutureEachRuns) {
  MakePool(2);
  std::shared_ptr<Future> running = Submit("burn_cpu", Args({Num(600)}));
  const pid_t pid = AwaitRunning(*running);
  ASSERT_GT(pid, 0);
  std::vector<WorkerView> workers;
  // Both workers are published once started; the busy one names its task.
  ASSERT_TRUE(PollUntil([&] {
    workers = pool_->Workers();
    return workers.size() == 2;
  }));
  int busy = 0;
  for (const WorkerView& worker : workers) {
    EXPECT_GT(worker.pid, 0);
    if (worker.future == nullptr) continue;
    ++busy;
    EXPECT_EQ(worker.pid, pid);
    EXPECT_EQ(worker.future, running);
  }
  EXPECT_EQ(busy, 1);
  running->Cancel(absl::Now());
  ASSERT_TRUE(WaitDone(*running));
  // The killed worker's replacement is published instead of it.
  ASSERT_TRUE(PollUntil([&] {
    workers = pool_->Workers();
    return workers.size() == 2 && workers[0].pid != pid &&
           workers[1].pid != pid;
  }));
}

// Batches: with one worker busy, the tasks queued meanwhile go to it in one
// message when it is free. `holder` is the first of them and keeps the
// batch waiting in the worker while the test acts on the rest.
class ProcessPoolBatchTest : public ProcessPoolTest {
 protected:
  void MakeBatchPool(
      const std::function<void(ProcessPool::Options&)>& configure = nullptr) {
    MakePool(1, [&](ProcessPool::Options& o) {
      o.worker_flags = {"--exec_allow=/usr/bin/touch"};
      if (configure) configure(o);
    });
    blocker_ = Submit("sleep", Args({Num(0.2)}));
    ASSERT_GT(AwaitRunning(*blocker_), 0);
  }

  // Waits until `holder` runs with `n` more tasks of its batch waiting in
  // the worker. False if that never happens.
  bool AwaitBatch(const Future& holder, int64_t n) {
    return PollUntil([&] {
      return holder.state() == FutureState::kRunning &&
             pool_->Stats().in_batches == n;
    });
  }

  std::shared_ptr<Future> blocker_;
};

TEST_F(ProcessPoolBatchTest, CancelOfATaskWaitingInABatchNeverRunsIt) {
  MakeBatchPool();
  const std::string victim_file = TempPath("victim");
  const std::string control_file = TempPath("control");
  std::shared_ptr<Future> holder = Submit("sleep", Args({Num(1)}));
  std::shared_ptr<Future> victim = Submit("exec", TouchArgs(victim_file));
  std::shared_ptr<Future> control = Submit("exec", TouchArgs(control_file));
  ASSERT_TRUE(AwaitBatch(*holder, 2));

  EXPECT_EQ(victim->Cancel(absl::Now()), CancelAction::kCancelledPending);
  EXPECT_EQ(victim->state(), FutureState::kCancelled);
  ASSERT_TRUE(WaitDone(*control));
  ASSERT_TRUE(WaitDone(*holder));
  // The worker went on past the withdrawn task to the next of its batch.
  EXPECT_EQ(control->state(), FutureState::kFinished);
  EXPECT_EQ(control->Snapshot().worker_pid, holder->Snapshot().worker_pid);
  EXPECT_TRUE(std::filesystem::exists(control_file));
  EXPECT_FALSE(std::filesystem::exists(victim_file));
  EXPECT_FALSE(victim->Snapshot().start_time.has_value());
  EXPECT_EQ(pool_->Stats().worker_restarts, 0);
  std::filesystem::remove(control_file);
}

TEST_F(ProcessPoolBatchTest, ADeadlineOfATaskWaitingInABatchWithdrawsIt) {
  MakeBatchPool();
  const std::string victim_file = TempPath("late");
  std::shared_ptr<Future> holder = Submit("sleep", Args({Num(1)}));
  std::shared_ptr<Future> victim = Submit("exec", TouchArgs(victim_file));
  std::shared_ptr<Future> after = Submit("echo", Args({Num(5)}));
  ASSERT_TRUE(AwaitBatch(*holder, 2));

  // What the engine does when a Submit timeout passes.
  EXPECT_TRUE(
      victim->FailAndStop(TaskError{"TimeoutError", "late", {}}, absl::Now()));
  ASSERT_TRUE(WaitDone(*after));
  EXPECT_EQ(std::get<Value>(*after->Snapshot().outcome).number_value(), 5);
  EXPECT_EQ(ErrorOf(victim->Snapshot()).type, "TimeoutError");
  EXPECT_FALSE(std::filesystem::exists(victim_file));
  EXPECT_EQ(pool_->Stats().worker_restarts, 0);
}

TEST_F(ProcessPoolBatchTest, ACrashFailsOnlyTheRunningTaskAndTheRestRunAgain) {
  MakeBatchPool();
  std::shared_ptr<Future> holder = Submit("sleep", Args({Num(0.5)}));
  std::shared_ptr<Future> crash = Submit("crash", Args({Str("segv")}));
  std::vector<std::shared_ptr<Future>> rest;
  for (int i = 0; i < 5; ++i) rest.push_back(Submit("echo", Args({Num(i)})));
  ASSERT_TRUE(AwaitBatch(*holder, 6));

  for (const auto& f : rest) ASSERT_TRUE(WaitDone(*f));
  ASSERT_TRUE(WaitDone(*crash));
  EXPECT_EQ(holder->state(), FutureState::kFinished);
  EXPECT_EQ(ErrorOf(crash->Snapshot()).type, "WorkerDiedError");
  EXPECT_THAT(ErrorOf(crash->Snapshot()).message,
              HasSubstr("was killed by SIGSEGV while running crash"));
  const pid_t crashed = crash->Snapshot().worker_pid;
  EXPECT_EQ(crashed, holder->Snapshot().worker_pid);
  // Re-queued, in order, and run by the new worker: nothing lost.
  for (int i = 0; i < 5; ++i) {
    const FutureSnapshot snapshot = rest[i]->Snapshot();
    EXPECT_EQ(snapshot.state, FutureState::kFinished);
    EXPECT_EQ(std::get<Value>(*snapshot.outcome).number_value(), i);
    EXPECT_NE(snapshot.worker_pid, crashed);
    if (i > 0) {
      EXPECT_LE(*rest[i - 1]->Snapshot().end_time, *snapshot.start_time);
    }
  }
  EXPECT_EQ(pool_->Stats().worker_restarts, 1);
}

TEST_F(ProcessPoolBatchTest, ACrashKeepsTheResultsOfTheTasksBeforeIt) {
  MakeBatchPool();
  std::vector<std::shared_ptr<Future>> before, after;
  for (int i = 0; i < 5; ++i) before.push_back(Submit("echo", Args({Num(i)})));
  std::shared_ptr<Future> crash = Submit("crash", Args({Str("abort")}));
  for (int i = 0; i < 5; ++i) after.push_back(Submit("echo", Args({Num(i)})));
  ASSERT_TRUE(WaitDone(*crash));
  for (const auto& f : after) ASSERT_TRUE(WaitDone(*f));
  const pid_t crashed = crash->Snapshot().worker_pid;
  EXPECT_EQ(ErrorOf(crash->Snapshot()).type, "WorkerDiedError");
  // Run before the crash by the same worker (their results were in the
  // task slots, which outlive it), and not run again.
  for (int i = 0; i < 5; ++i) {
    const FutureSnapshot snapshot = before[i]->Snapshot();
    ASSERT_EQ(snapshot.state, FutureState::kFinished) << i;
    EXPECT_EQ(std::get<Value>(*snapshot.outcome).number_value(), i);
    EXPECT_EQ(snapshot.worker_pid, crashed);
  }
  for (int i = 0; i < 5; ++i) {
    const FutureSnapshot snapshot = after[i]->Snapshot();
    EXPECT_EQ(std::get<Value>(*snapshot.outcome).number_value(), i);
    EXPECT_NE(snapshot.worker_pid, crashed);
  }
  EXPECT_EQ(pool_->Stats().worker_restarts, 1);
}

TEST_F(ProcessPoolBatchTest, CancelOfTheRunningTaskRequeuesTheRestOfItsBatch) {
  MakeBatchPool();
  std::shared_ptr<Future> holder = Submit("burn_cpu", Args({Num(600)}));
  std::vector<std::shared_ptr<Future>> rest;
  for (int i = 0; i < 3; ++i) rest.push_back(Submit("echo", Args({Num(i)})));
  ASSERT_TRUE(AwaitBatch(*holder, 3));
  const pid_t pid = holder->Snapshot().worker_pid;

  EXPECT_EQ(holder->Cancel(absl::Now()), CancelAction::kStopRequested);
  ASSERT_TRUE(WaitDone(*holder));
  EXPECT_EQ(holder->state(), FutureState::kCancelled);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(WaitDone(*rest[i]));
    EXPECT_EQ(std::get<Value>(*rest[i]->Snapshot().outcome).number_value(), i);
    EXPECT_NE(rest[i]->Snapshot().worker_pid, pid);
  }
  EXPECT_TRUE(PollUntil([pid] { return ProcessGone(pid); }));
}

TEST_F(ProcessPoolBatchTest, ResultsComeBackInOrderWithTheirOwnTimes) {
  MakeBatchPool();
  std::shared_ptr<Future> holder = Submit("sleep", Args({Num(0.3)}));
  std::vector<std::shared_ptr<Future>> echoes;
  for (int i = 0; i < 100; ++i) {
    echoes.push_back(Submit("echo", Args({Num(i)})));
  }
  ASSERT_TRUE(AwaitBatch(*holder, 100));
  for (const auto& f : echoes) ASSERT_TRUE(WaitDone(*f));
  const pid_t pid = holder->Snapshot().worker_pid;
  absl::Time last_end = *holder->Snapshot().end_time;
  for (int i = 0; i < 100; ++i) {
    const FutureSnapshot snapshot = echoes[i]->Snapshot();
    ASSERT_EQ(snapshot.state, FutureState::kFinished);
    EXPECT_EQ(std::get<Value>(*snapshot.outcome).number_value(), i);
    EXPECT_EQ(snapshot.worker_pid, pid);
    // One after the other in the worker, each with its own start and end.
    EXPECT_LE(last_end, *snapshot.start_time) << i;
    EXPECT_LE(*snapshot.start_time, *snapshot.end_time) << i;
    last_end = *snapshot.end_time;
  }
}

TEST_F(ProcessPoolBatchTest, ABatchIsNoLargerThanWhatAWorkerHasLeftToRun) {
  MakeBatchPool([](auto& o) { o.max_tasks_per_child = 3; });
  std::vector<std::shared_ptr<Future>> pids;
  for (int i = 0; i < 7; ++i) pids.push_back(Submit("pid"));
  for (const auto& f : pids) ASSERT_TRUE(WaitDone(*f));
  ASSERT_TRUE(WaitDone(*blocker_));
  // The blocker was the first worker's first task.
  const pid_t first = blocker_->Snapshot().worker_pid;
  std::vector<pid_t> ran;
  for (const auto& f : pids) ran.push_back(f->Snapshot().worker_pid);
  EXPECT_EQ(ran[0], first);
  EXPECT_EQ(ran[1], first);
  EXPECT_NE(ran[2], first);
  EXPECT_EQ(ran[2], ran[3]);
  EXPECT_EQ(ran[3], ran[4]);
  EXPECT_NE(ran[5], ran[4]);
  EXPECT_EQ(ran[5], ran[6]);
}

TEST_F(ProcessPoolBatchTest, ShutdownWithdrawsTheTasksWaitingInABatch) {
  MakeBatchPool();
  const std::string victim_file = TempPath("shutdown");
  std::shared_ptr<Future> holder = Submit("sleep", Args({Num(0.5)}));
  std::shared_ptr<Future> victim = Submit("exec", TouchArgs(victim_file));
  ASSERT_TRUE(AwaitBatch(*holder, 1));
  EXPECT_TRUE(pool_->Shutdown(kTestTimeout));
  EXPECT_EQ(holder->state(), FutureState::kFinished);  // within the grace
  EXPECT_EQ(victim->state(), FutureState::kCancelled);
  EXPECT_FALSE(std::filesystem::exists(victim_file));
}

}  // namespace
}  // namespace futured::server
