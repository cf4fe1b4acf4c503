// A fixed set of threads running submitted futures' tasks from a bounded queue.
#ifndef FUTURED_SERVER_POOLS_THREAD_POOL_H_
#define FUTURED_SERVER_POOLS_THREAD_POOL_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/future/future.h"
#include "server/pools/pool.h"
#include "server/task/task_registry.h"

namespace futured::server {

// Runs tasks on `workers` threads of the daemon, first in, first out. Owned
// by the Engine. Thread-safe: any thread may Submit() and Stats().
//
// A worker takes the oldest entry, moves its future PENDING -> RUNNING (an
// entry whose future was cancelled meanwhile is skipped), runs the task with
// a TaskContext built from the future's token and deadline, and finishes the
// future with the task's outcome (see CallTask() for thrown exceptions).
//
// With a DispatchHook (the journal's), entries pass through a second queue
// first: a worker takes up to kDispatchWindow of the oldest entries, calls
// the hook once for them all (it waits there for one commit), and moves
// them to the ready queue, from which workers take them as above. One worker
// at a time does so, when fewer than kDispatchWindow / 2 are ready, so that
// the others keep running ready work meanwhile; at most 1.5 x
// kDispatchWindow futures are dispatched but not yet taken. As the pool
// stops, both queues' futures are cancelled, never started.
//
// A worker whose task ignores its token through Shutdown() is detached by the
// destructor and keeps running; what its task and the future's callbacks use
// (the registry's TaskSpec included) must outlive it.
class ThreadPool final : public Pool {
 public:
  struct Options {
    std::string name = "thread";
    int workers = 4;
    int64_t queue_capacity = 100000;
    DispatchHook before_dispatch = nullptr;  // see DispatchHook; optional
  };

  // The most entries one call of the DispatchHook takes.
  static constexpr size_t kDispatchWindow = 64;

  explicit ThreadPool(Options options);
  // Shutdown(absl::ZeroDuration()): cancels running tasks at once, waits up
  // to 5 s for them to stop and joins; a worker whose task ignores its token
  // is detached and finishes on its own.
  ~ThreadPool() override;
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Pool::SubmitAll(); see there.
  absl::Status SubmitAll(std::vector<QueuedTask> tasks) override
      ABSL_LOCKS_EXCLUDED(shared_->mu);

  void StopAccepting() override ABSL_LOCKS_EXCLUDED(shared_->mu);

  // Stops taking work and cancels every queued future. Waits up to `grace`
  // for running tasks to finish, then cancels their tokens and waits up to
  // `stop_wait` for them to stop. Returns true if every worker thread has
  // exited and been joined; false if some task ignored its token (its thread
  // is left running). Blocks; call from the owner's thread. A later call
  // repeats the waits (and joins the workers if they have exited since).
  bool Shutdown(absl::Duration grace,
                absl::Duration stop_wait = absl::Seconds(5)) override
      ABSL_LOCKS_EXCLUDED(shared_->mu);

  PoolStats Stats() const override ABSL_LOCKS_EXCLUDED(shared_->mu);
  std::vector<WorkerView> Workers() const override
      ABSL_LOCKS_EXCLUDED(shared_->mu);
  const std::string& name() const override { return options_.name; }

 private:
  // A queued call.
  using Entry = QueuedTask;

  // What the workers touch. The pool and each worker co-own it, so that a
  // worker detached while its task ignores its token can still finish the
  // future and exit after the pool is gone.
  struct Shared {
    bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return stopping || !ready.empty() || (!queue.empty() && !dispatching);
    }
    // With a DispatchHook: whether a worker should dispatch the next
    // entries rather than run a ready one.
    bool ShouldDispatch() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return !queue.empty() && !dispatching &&
             ready.size() < kDispatchWindow / 2;
    }
    bool AllWorkersExited() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return live_workers == 0;
    }

    absl::Mutex mu;
    bool stopping ABSL_GUARDED_BY(mu) = false;  // set by Shutdown()
    // Without a DispatchHook, workers take entries from `queue`. With one,
    // entries go from `queue` to `ready` once the hook has returned for
    // them, and workers take them from `ready`.
    std::deque<Entry> queue ABSL_GUARDED_BY(mu);
    std::deque<Entry> ready ABSL_GUARDED_BY(mu);
    bool dispatching ABSL_GUARDED_BY(mu) = false;  // a worker is in the hook
    // The futures that worker is recording: waiting for a thread still.
    size_t in_dispatch ABSL_GUARDED_BY(mu) = 0;
    // Queued, recorded ahead, or being recorded: what counts against the
    // queue's capacity.
    size_t WaitingLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return queue.size() + ready.size() + in_dispatch;
    }
    // The future each worker has taken, by worker index; null when idle.
    std::vector<std::shared_ptr<Future>> taken ABSL_GUARDED_BY(mu);
    int live_workers ABSL_GUARDED_BY(mu) = 0;  // worker loops not yet ended
    // Options::before_dispatch; set before the workers start, then constant.
    DispatchHook before_dispatch;
  };

  // A worker's loop: runs entries until the pool stops. `index` is its slot
  // in `shared->taken`.
  static void WorkerLoop(std::shared_ptr<Shared> shared, int index);
  // A worker's turn at the DispatchHook: calls it for `batch`, then makes
  // the entries ready, or, if the pool stopped meanwhile, cancels them.
  static void Dispatch(Shared& shared, std::vector<Entry> batch);

  // Waits up to `timeout` for every worker loop to end (once stopping, a
  // loop ends when its task has). True if they have.
  bool AwaitNoneRunning(absl::Duration timeout) override
      ABSL_LOCKS_EXCLUDED(shared_->mu);
  // The futures the workers have taken.
  std::vector<std::shared_ptr<Future>> RunningFutures() const override
      ABSL_LOCKS_EXCLUDED(shared_->mu);

  // Constant after construction.
  const Options options_;
  const std::shared_ptr<Shared> shared_;

  // Used only by the constructor, Shutdown() and the destructor, which run
  // on the owner's thread.
  std::vector<std::thread> threads_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_POOLS_THREAD_POOL_H_
