// What the engine runs futures on: a named pool of threads or processes.
#ifndef FUTURED_SERVER_POOLS_POOL_H_
#define FUTURED_SERVER_POOLS_POOL_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "server/future/future.h"
#include "server/task/task_registry.h"

namespace futured::server {

// A call ready to run: the task and its bound arguments.
struct Task {
  const TaskSpec* spec =
      nullptr;  // owned by the registry, which outlives pools
  BoundArgs args;
};

// Called with futures a pool is about to hand to a runner that may start
// them at any moment: a thread about to run one, or a batch about to be sent
// to worker process `worker_pid` (0 for a thread). It may block (the journal
// waits there until their start is durable, so that a task never runs
// unrecorded), and may end futures it cannot let start (the pool then skips
// them as it skips cancelled ones); it runs on the pool's dispatching thread
// with no lock held.
using DispatchHook =
    std::function<void(absl::Span<Future* const>, int worker_pid)>;

// A future and the task that completes it, as a pool queues them.
struct QueuedTask {
  std::shared_ptr<Future> future;
  Task task;
};

// Figures for GetStats.
struct PoolStats {
  std::string name;
  std::string kind;  // "thread" or "process"
  int64_t workers = 0;
  int64_t queued = 0;   // futures waiting to start
  int64_t running = 0;  // tasks running now
  int64_t queue_capacity = 0;
  int64_t worker_restarts = 0;  // process pools: workers replaced so far
  // Process pools: of `queued`, those already sent to a worker in a batch.
  int64_t in_batches = 0;
};

// One worker of a pool and what it runs, for the dashboard.
struct WorkerView {
  int pid = 0;  // a process pool's worker process; 0 for a thread
  std::shared_ptr<Future> future;  // the future it runs; null when idle
};

// OK if a pool of `kind` ("thread", "process") named `name`, holding
// `queued` of at most `capacity` tasks, has room for `adding` more; else
// RESOURCE_EXHAUSTED saying how full it is.
absl::Status QueueRoom(absl::string_view kind, absl::string_view name,
                       int64_t queued, size_t adding, int64_t capacity);

// A bounded first-in, first-out queue of futures and the workers that run
// them. Owned by the Engine. Implementations are thread-safe: any thread may
// Submit() and Stats(); Shutdown() runs on the owner's thread.
//
// What every pool does the same way as it stops is here: cancelling what
// was queued, and Shutdown()'s waits for the tasks that run
// (AwaitRunningTasks()).
class Pool {
 public:
  virtual ~Pool() = default;

  // Queues every task, in order, or none of them: one queue operation for a
  // Map's inputs. Never blocks. RESOURCE_EXHAUSTED when the queue has no room
  // for them all; UNAVAILABLE once Shutdown() has begun or when the pool has
  // no worker that can run them.
  virtual absl::Status SubmitAll(std::vector<QueuedTask> tasks) = 0;

  // SubmitAll() of one task, to run `future`.
  absl::Status Submit(std::shared_ptr<Future> future, Task task) {
    std::vector<QueuedTask> one;
    one.push_back(QueuedTask{std::move(future), std::move(task)});
    return SubmitAll(std::move(one));
  }

  // Stops taking work and cancels every queued future. Never blocks; a
  // second call does nothing. Shutdown() begins with it; the engine calls it
  // on every pool first, so that no pool starts queued work while another
  // waits out its grace.
  virtual void StopAccepting() = 0;

  // StopAccepting(), then waits up to `grace`
  // for running tasks to finish, then stops them and waits up to `stop_wait`
  // for that. Returns false if some task could not be stopped. Blocks.
  virtual bool Shutdown(absl::Duration grace,
                        absl::Duration stop_wait = absl::Seconds(5)) = 0;

  virtual PoolStats Stats() const = 0;
  // Every worker, in a stable order, with the future it runs. Takes the
  // pool's lock for a copy of its running set; never blocks on a task.
  virtual std::vector<WorkerView> Workers() const = 0;
  virtual const std::string& name() const = 0;

 protected:
  // Cancels the future of every task in `tasks`, which the pool has taken
  // out of its queue as it stops: they never run. Any thread.
  template <typename QueuedTasks>
  static void CancelAll(QueuedTasks& tasks) {
    const absl::Time now = absl::Now();
    for (QueuedTask& task : tasks) task.future->Cancel(now);
  }

  // Shutdown()'s waits, after StopAccepting(): up to `grace` until no task
  // runs; then cancels every running future and asks its task to stop
  // (Cancel() also stops a future taken but not yet started; RequestStop()
  // also reaches a task whose future has failed, at its deadline, but which
  // still runs), and waits up to `stop_wait`. True if no task runs then.
  // Blocks; the owner's thread.
  bool AwaitRunningTasks(absl::Duration grace, absl::Duration stop_wait);

  // After StopAccepting(): waits up to `timeout` until no task runs. True
  // if none does.
  virtual bool AwaitNoneRunning(absl::Duration timeout) = 0;

  // The futures whose tasks run now, or are about to.
  virtual std::vector<std::shared_ptr<Future>> RunningFutures() const = 0;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_POOLS_POOL_H_
