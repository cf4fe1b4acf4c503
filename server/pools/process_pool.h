// A pool of worker processes: real parallelism, crash isolation and tasks
// that can be killed.
#ifndef FUTURED_SERVER_POOLS_PROCESS_POOL_H_
#define FUTURED_SERVER_POOLS_PROCESS_POOL_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "futured/internal/worker.pb.h"
#include "server/future/future.h"
#include "server/os/child_process.h"
#include "server/pools/pool.h"
#include "server/task/cancellation_token.h"
#include "server/worker/task_slots.h"
#include "server/worker/worker_channel.h"

namespace futured::server {

// Runs tasks in `workers` processes of the futured-worker binary
// (server/worker/worker_main.cc), one task per process at a time, first in,
// first out. Owned by the Engine. Thread-safe: any thread may Submit() and
// Stats(); Shutdown() and the destructor run on the owner's thread.
//
// One I/O thread per pool starts the workers (posix_spawn, with a clean
// signal mask and dispositions, its own process group, no descriptor but
// stdio, its socket and its task slots), hands them tasks over a
// socketpair, reads their reports and reaps them through pidfds, all from
// one poll() loop. A worker gets SIGTERM when that thread ends
// (PR_SET_PDEATHSIG), so none outlives the pool or the daemon (SIGTERM
// rather than SIGKILL, so that a worker running exec kills its command's
// process group first).
//
// Batches: an idle worker is sent up to kMaxBatch queued tasks in one
// message when the queue is long (queue length / workers of them, at least
// one). Each task has a slot in memory shared with the worker
// (server/worker/task_slots.h): the worker claims it before it starts the task
// and leaves there the start and end times and, for a quick task with a small
// result, the result; it sends other results as frames at once, and one
// frame when the batch is done. The I/O thread reads the slots of batches
// in flight every kFirstScan to kLastScan. A future stays PENDING until
// its slot says started; whether it starts or is withdrawn by Cancel() (or
// a deadline, or Shutdown()) is settled by a compare-and-swap on the slot,
// so a future cancelled while pending never runs, even once sent.
//
// - A worker that dies while running a task (a crash, exit(), a limit, the
//   OOM killer) fails only that future, with TaskError "WorkerDiedError"
//   naming the signal or exit code; the tasks of its batch it finished
//   keep their results (the slots outlive it), those it had not started go
//   back to the front of the queue, in order, and it is replaced. Before it
//   is reaped, what is left in its process group and the process group of
//   the command its task ran (exec, recorded in its task slots) get SIGKILL:
//   the daemon is the child subreaper of their orphans
//   (server/os/adopted_children.h).
// - A running future whose token is cancelled (Cancel(), a Submit deadline,
//   Shutdown()) has its worker killed: SIGTERM, then SIGKILL after
//   `kill_grace`. The future ends CANCELLED unless it has already failed
//   (e.g. with its TimeoutError); the worker is replaced, and the rest of
//   its batch re-queued.
// - A worker is recycled after `max_tasks_per_child` tasks (a batch is
//   never larger than what it has left).
// - Start failures are retried with exponential backoff and logged; after
//   `max_start_failures` in a row with no worker up, queued futures fail
//   with "BrokenProcessPool" and Submit() is UNAVAILABLE until a worker
//   starts again.
//
// process_pool.cc holds the pool, its I/O loop, its workers' lives and the
// protocol; process_pool_batches.cc the batches over the task slots.
class ProcessPool final : public Pool {
 public:
  struct Options {
    std::string name = "process";
    int workers = 2;
    int64_t queue_capacity = 100000;
    DispatchHook before_dispatch = nullptr;  // see DispatchHook; optional
    std::string worker_binary;               // the futured-worker executable
    int64_t max_tasks_per_child = 0;  // 0: a worker runs tasks until it dies
    int64_t memory_limit_bytes = 0;   // RLIMIT_AS of each worker; 0: none
    absl::Duration cpu_limit = absl::ZeroDuration();  // per task; 0: none
    absl::Duration kill_grace = absl::Seconds(1);     // SIGTERM, then SIGKILL
    size_t max_frame_bytes = 64 << 20;  // largest task or result message
    int max_start_failures = 3;
    // Task plugins every worker loads (--plugin), as the daemon did.
    std::vector<std::string> plugins;
    // Passed on to every worker after the pool's own flags: what the
    // tasks there need to know (e.g. "--exec_allow=/bin/echo").
    std::vector<std::string> worker_flags;
  };

  // Starts the I/O thread, which starts the workers.
  explicit ProcessPool(Options options);
  ~ProcessPool() override;  // Shutdown(absl::ZeroDuration())
  ProcessPool(const ProcessPool&) = delete;
  ProcessPool& operator=(const ProcessPool&) = delete;

  // Pool::SubmitAll(); see there.
  absl::Status SubmitAll(std::vector<QueuedTask> tasks) override
      ABSL_LOCKS_EXCLUDED(shared_->mu);

  void StopAccepting() override ABSL_LOCKS_EXCLUDED(shared_->mu);

  // Cancels queued futures, waits up to `grace` for running tasks, then
  // cancels them (killing their workers) and waits up to `stop_wait`; then
  // ends every worker and joins the I/O thread. Always true: a worker
  // process can always be killed. Blocks. A later call does nothing.
  bool Shutdown(absl::Duration grace,
                absl::Duration stop_wait = absl::Seconds(5)) override
      ABSL_LOCKS_EXCLUDED(shared_->mu);

  PoolStats Stats() const override ABSL_LOCKS_EXCLUDED(shared_->mu);
  std::vector<WorkerView> Workers() const override
      ABSL_LOCKS_EXCLUDED(shared_->mu);
  const std::string& name() const override { return options_.name; }

 private:
  // Tasks per RunTasks message, at most: half of TaskSlots::kCount, so
  // that a worker's next batch never takes a slot of its last one.
  static constexpr int kMaxBatch = 256;
  static_assert(2 * kMaxBatch <= TaskSlots::kCount);
  // How often the I/O thread looks at the slots of batches in flight: from
  // the first interval after a change, doubling to the last.
  static constexpr absl::Duration kFirstScan = absl::Microseconds(500);
  static constexpr absl::Duration kLastScan = absl::Milliseconds(16);

  // A queued call.
  using Entry = QueuedTask;

  // What Submit(), Stats(), Shutdown(), cancel callbacks and the I/O thread
  // share. Cancel callbacks hold it weakly, as they may outlive the pool.
  struct Shared {
    Shared();
    ~Shared();  // closes wake_fd
    // Makes the I/O thread's poll() return. Never blocks.
    void Wake() const;
    bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
      return running.empty();
    }

    const int wake_fd;  // an eventfd; constant after construction

    absl::Mutex mu;
    bool stopping ABSL_GUARDED_BY(mu) = false;  // Shutdown() has begun
    bool exit ABSL_GUARDED_BY(mu) = false;      // the I/O thread must end
    std::string broken ABSL_GUARDED_BY(mu);     // why no worker starts
    std::deque<Entry> queue ABSL_GUARDED_BY(mu);
    // Futures handed to a worker and not yet answered there, by task ID.
    absl::flat_hash_map<uint64_t, std::shared_ptr<Future>> running
        ABSL_GUARDED_BY(mu);
    // Of `running`, those the worker has not said it started.
    int64_t unstarted ABSL_GUARDED_BY(mu) = 0;
    // Running tasks whose token was cancelled: their workers must be killed.
    std::vector<uint64_t> stop_requests ABSL_GUARDED_BY(mu);
    int64_t restarts ABSL_GUARDED_BY(mu) = 0;
    // The PIDs of the live workers, as the I/O thread last published them
    // (PublishWorkerPids()), for Workers().
    std::vector<int> worker_pids ABSL_GUARDED_BY(mu);
  };

  // Waits up to `timeout` until no task runs. True if none does.
  bool AwaitNoneRunning(absl::Duration timeout) override
      ABSL_LOCKS_EXCLUDED(shared_->mu);
  // The futures sent to workers and not yet answered there.
  std::vector<std::shared_ptr<Future>> RunningFutures() const override
      ABSL_LOCKS_EXCLUDED(shared_->mu);

  // A task sent to a worker and not yet answered.
  struct Sent {
    uint64_t task_id = 0;
    uint32_t slot = 0;
    Entry entry;
    bool started = false;  // its slot has said it started
    CancellationToken::CallbackId cancel_callback = 0;  // while it runs
    // Its result, if it came on the socket rather than in the slot.
    std::optional<internal::TaskResult> socket_result = {};
  };

  // One worker process, as the I/O thread sees it.
  struct Worker {
    ChildProcess process;  // its pidfd polled by the I/O thread
    std::unique_ptr<WorkerChannel> channel;  // null once closed
    std::shared_ptr<TaskSlots> slots;        // shared with its futures' hooks
    bool ready = false;                      // it has said Ready: it started
    // Its batch: the tasks sent and not yet answered, in order; the first
    // is the one it runs once started. Empty when idle.
    std::deque<Sent> sent;
    bool batch_open = false;  // sent a batch whose end it has not reported
    uint32_t next_slot = 0;   // the slot of the next task sent (mod kCount)
    int64_t tasks_done = 0;
    bool stopping = false;  // killed for a stop request
    std::string failure;    // why the pool killed it, if it did
    absl::Time kill_at = absl::InfiniteFuture();  // SIGKILL then
    bool reaped = false;
  };

  // The I/O thread's loop and its steps. Everything below touches
  // `workers_` and the start-failure state, which only the I/O thread uses.
  void IoLoop();
  void StartWorkers(absl::Time now);
  absl::StatusOr<std::unique_ptr<Worker>> SpawnWorker();
  void RecordStartFailure(const absl::Status& status, absl::Time now);
  void HandleStopRequests(absl::Time now);
  // Sends every idle worker a batch while the queue has tasks.
  void Dispatch(absl::Time now);
  // Sends `worker` a batch if it is idle and the queue has tasks; false
  // once the queue is empty.
  bool DispatchTo(Worker& worker, absl::Time now);
  // Whether `worker` may be sent a batch now.
  bool Idle(const Worker& worker) const;
  // Takes the next batch for `worker` from the queue (empty if the queue is).
  std::vector<Entry> TakeBatch(const Worker& worker)
      ABSL_LOCKS_EXCLUDED(shared_->mu);
  // Sends `batch` to `worker`, leaving out futures no longer pending.
  void SendBatch(Worker& worker, std::vector<Entry> batch, absl::Time now);
  void EscalateKills(absl::Time now);
  // Waits for a message, a worker's exit, a wake-up or the next timed step
  // (a SIGKILL due; with `starting`, the next worker start), and handles
  // what arrived.
  void PollOnce(absl::Time now, bool starting);
  void ReadFromWorker(Worker& worker);
  void HandleMessage(Worker& worker, const internal::WorkerToDaemon& message);
  void HandleReady(Worker& worker);
  // False if the report does not fit what `worker` was sent.
  bool HandleReport(Worker& worker, const internal::TaskReport& report);
  // Settles the tasks at the front of `worker`'s batch that have ended (by
  // their slots or their reports) and marks the one that runs started.
  // False if a slot or a result says what the protocol does not allow.
  bool Advance(Worker& worker);
  // Advance() for every worker with a batch, every `scan_interval_`.
  void ScanBatches(absl::Time now);
  // The first task of `worker`'s batch started at `when`. With
  // `watch_stop`, it still runs, and a cancel of its token stops it.
  void MarkStarted(Worker& worker, absl::Time when, bool watch_stop);
  // Ends the first task of `worker`'s batch with `outcome` at `when`.
  void FinishTask(Worker& worker, Outcome outcome, absl::Time when);
  // After `worker` died (`exit`, described as `death`): settles its batch.
  // What it finished counts (its slots outlive it), what it never started
  // is requeued, and the task it had started fails with DeathOutcome().
  void SettleDeadBatch(Worker& worker, const ChildExit& exit,
                       absl::string_view death);
  // Puts back at the front of the queue, in order (or cancels, once
  // stopping), the tasks of a dead worker's batch, or of a batch too large
  // for a frame, that never started.
  void Requeue(std::vector<Entry> entries);
  void ProtocolError(Worker& worker, absl::string_view what);
  void Kill(Worker& worker, int signal_number, std::string failure,
            absl::Time now);
  void Reap(Worker& worker);
  // Before an exited worker is reaped: SIGKILL to what is left in its
  // process group and in the command group it recorded in its task slots.
  void KillLeftovers(const Worker& worker);
  // The outcome of the task `worker` was running when it died (`exited`
  // with `status`, or killed by signal `status`; `death` says which).
  Outcome DeathOutcome(const Worker& worker, bool exited, int status,
                       absl::string_view death) const;
  void EndAllWorkers();
  // Copies the PIDs of workers_ into shared_->worker_pids: after a worker
  // is started or removed, never per task.
  void PublishWorkerPids() ABSL_LOCKS_EXCLUDED(shared_->mu);

  // Constant after construction.
  const Options options_;
  const std::shared_ptr<Shared> shared_;

  // Used only by the I/O thread.
  std::vector<std::unique_ptr<Worker>> workers_;
  uint64_t next_task_id_ = 1;
  int start_failures_ = 0;  // in a row
  absl::Time next_start_ = absl::InfinitePast();
  absl::Duration scan_interval_ = kFirstScan;
  absl::Time next_scan_ = absl::InfinitePast();

  // Used only by the owner's thread.
  std::thread io_thread_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_POOLS_PROCESS_POOL_H_
