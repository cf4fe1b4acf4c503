// A fixed set of threads running submitted futures' tasks from a bounded queue.
#ifndef FUTURED_SERVER_THREAD_POOL_H_
#define FUTURED_SERVER_THREAD_POOL_H_

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
#include "server/future.h"
#include "server/task_registry.h"

namespace futured {

// A call ready to run: the task and its bound arguments.
struct Task {
  const TaskSpec* spec = nullptr;  // owned by the registry, which outlives pools
  BoundArgs args;
};

// Figures for GetStats.
struct PoolStats {
  std::string name;
  std::string kind;
  int64_t workers = 0;
  int64_t queued = 0;   // entries waiting in the queue
  int64_t running = 0;  // tasks running now
  int64_t queue_capacity = 0;
};

// Runs tasks on `workers` threads, first in, first out. Owned by the
// daemon's Executor. Thread-safe: any thread may Submit() and Stats().
//
// A worker takes the oldest entry, moves its future PENDING -> RUNNING (an
// entry whose future was cancelled meanwhile is skipped), runs the task with
// a TaskContext built from the future's token and deadline, and finishes the
// future with the task's outcome. A task that throws finishes its future
// with a TaskError of type "RuntimeError".
class ThreadPool {
 public:
  struct Options {
    std::string name = "thread";
    int workers = 4;
    int64_t queue_capacity = 100000;
  };

  explicit ThreadPool(Options options);
  // Shutdown(absl::ZeroDuration()) if not shut down yet, then joins.
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Queues `task` to run `future`. Never blocks. RESOURCE_EXHAUSTED when the
  // queue is full; UNAVAILABLE once Shutdown() has begun.
  absl::Status Submit(std::shared_ptr<Future> future, Task task)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Stops taking work and cancels every queued future. Waits up to `grace`
  // for running tasks to finish, then cancels their tokens and waits up to
  // `grace` again. Returns true if every worker thread has exited and been
  // joined; false if some task ignored its token (its thread is left
  // running). Blocks; call once, from the owner.
  bool Shutdown(absl::Duration grace) ABSL_LOCKS_EXCLUDED(mu_);

  PoolStats Stats() const ABSL_LOCKS_EXCLUDED(mu_);
  const std::string& name() const { return options_.name; }

 private:
  // (private members are the implementer's choice)
  const Options options_;
};

}  // namespace futured

#endif  // FUTURED_SERVER_THREAD_POOL_H_
