// The daemon's engine: tasks, pools, futures and timers behind one interface.
#ifndef FUTURED_SERVER_ENGINE_ENGINE_H_
#define FUTURED_SERVER_ENGINE_ENGINE_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "google/protobuf/struct.pb.h"
#include "server/engine/argument_limits.h"
#include "server/engine/future_table.h"
#include "server/engine/pending_limit.h"
#include "server/engine/remote_futures.h"
#include "server/engine/request_index.h"
#include "server/engine/task_metrics.h"
#include "server/engine/timer_queue.h"
#include "server/future/future.h"
#include "server/pools/pool.h"
#include "server/pools/process_pool.h"
#include "server/pools/thread_pool.h"
#include "server/store/journal.h"
#include "server/task/task_registry.h"

namespace futured::server {

// One pool's configuration; its kind is the alternative held.
using PoolOptions = std::variant<ThreadPool::Options, ProcessPool::Options>;

struct EngineOptions {
  // Pools by name (names must differ). A Submit naming no pool uses
  // "thread", so one of them should be called that.
  std::vector<PoolOptions> pools = {ThreadPool::Options{}};
  absl::Duration retention = absl::Hours(1);  // of finished futures
  ArgumentLimits argument_limits = {};        // checked by Prepare()
  // Unfinished futures one principal may have (Submit, Run, Map alike);
  // 0: unlimited.
  int64_t max_pending_per_principal = 0;
  // Where futures started into the table are kept across restarts; null:
  // in memory only. Not owned; must outlive the engine, which closes it in
  // Shutdown().
  Journal* journal = nullptr;
  // In a cluster: how this node reaches the others, to answer for their
  // futures (remote_futures.h) and to serve their requests for its own
  // (ServeCluster()); null: one daemon. Not owned; must outlive the engine,
  // which closes it in Shutdown().
  PostgresBus* bus = nullptr;
};

// How futures that were running come back from the journal: as
// InterruptedError when "the daemon" stopped, as NodeLostError when "node X"
// of the cluster did.
struct Interruption {
  std::string type;
  std::string what;  // what stopped
  // The error of the interrupted attempt; `retried` if its retry policy
  // runs it again.
  TaskError Error(bool retried) const;
};

// What Engine::Recover() found in the journal.
struct RecoveryCounts {
  int64_t done = 0;         // done futures, kept again until their retention
  int64_t requeued = 0;     // pending futures queued again
  int64_t interrupted = 0;  // running at the stop: failed, InterruptedError
  // Running at the stop, and their retry policy retries InterruptedError:
  // queued again (after their backoff) for another attempt.
  int64_t retried = 0;
  int64_t timed_out = 0;  // pending past their deadline: TimeoutError
  int64_t refused = 0;    // pending, but their function or pool is gone
                          // or the queue is full: failed
};

// A call checked and bound, ready to be started (possibly many times, as Map
// does): the task, its arguments and the pool to run in, and when to run it
// again if it fails.
struct PreparedCall {
  const TaskSpec* spec = nullptr;
  BoundArgs args;
  Pool* pool = nullptr;
  // Null: one attempt (at most once). Set: valid (RetryPolicy::Validate()).
  // Shared, so that a Map's many calls stay small.
  std::shared_ptr<const RetryPolicy> retry = nullptr;
};

// Where a started future lives.
enum class Tracking {
  kInTable,  // findable by ID until released or expired (Submit)
  kPrivate,  // held only by the caller (Map's futures)
};

// What the gRPC layer drives: it binds calls to registered tasks, starts
// futures in named pools, enforces Submit timeouts, keeps the future table
// and expires old futures. Every future belongs to the principal that
// started it (a name the gRPC layer derives from the caller's credentials;
// "" is the anonymous caller when authentication is off), and only that
// principal finds or releases it. Knows nothing of gRPC. Thread-safe; never
// blocks except in Shutdown(). `registry` and `timers` must outlive it.
class Engine {
 public:
  Engine(EngineOptions options, const TaskRegistry* registry,
         TimerQueue* timers);
  ~Engine();  // Shutdown(absl::ZeroDuration()) unless already shut down
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Finds the function and pool and binds the arguments. NOT_FOUND for an
  // unknown function or pool ("" is "thread"); before binding,
  // INVALID_ARGUMENT / RESOURCE_EXHAUSTED for arguments nested too deep or
  // too large (EngineOptions::argument_limits); INVALID_ARGUMENT for
  // arguments that do not fit the function; and whatever the task's own
  // TaskSpec::validate says of them (e.g. PERMISSION_DENIED).
  absl::StatusOr<PreparedCall> Prepare(
      absl::string_view function,
      const google::protobuf::RepeatedPtrField<google::protobuf::Value>& args,
      const google::protobuf::Struct& kwargs, absl::string_view pool) const;

  // Queues a new future for `call`, owned by `principal`. With a timeout,
  // the future fails with TimeoutError when it passes (its task is told to
  // stop; a process pool kills its worker). With a retry policy, an attempt
  // that fails with an error it retries sends the future back to PENDING
  // and queues it again after its backoff (a timer; see Future::SetRetry()),
  // into the same pool; the timeout covers every attempt. RESOURCE_EXHAUSTED
  // when the pool's queue is full or `principal` has max_pending_per_principal
  // unfinished futures; UNAVAILABLE once shutting down or while a process
  // pool has no worker.
  absl::StatusOr<std::shared_ptr<Future>> Start(
      PreparedCall call, std::optional<absl::Duration> timeout,
      Tracking tracking, absl::string_view principal);

  // Start() for many calls in one pool (a Map's inputs), with one queue
  // operation and one pending-limit check for them all: every future is
  // queued, in order, or none is, with Start()'s errors. INVALID_ARGUMENT
  // when the calls name different pools.
  absl::StatusOr<std::vector<std::shared_ptr<Future>>> StartAll(
      std::vector<PreparedCall> calls, std::optional<absl::Duration> timeout,
      Tracking tracking, absl::string_view principal);

  // Start() into the table, once per `key`: a retry with the same key gets
  // the future the first call started while the table keeps it, even when
  // it is done, and nothing new runs. ALREADY_EXISTS when `key` started a
  // different call (another function, arguments, pool or timeout; arguments
  // are compared after binding, so sleep(1) and sleep(seconds=1) are the
  // same call). `key.request_id` must be non-empty and valid
  // (RequestIndex::ValidateRequestId). The future is owned by
  // `key.principal`.
  absl::StatusOr<std::shared_ptr<Future>> StartOnce(
      const RequestKey& key, PreparedCall call,
      std::optional<absl::Duration> timeout);

  // What Submit() calls with its future, or its error.
  using Accepted =
      absl::AnyInvocable<void(absl::StatusOr<std::shared_ptr<Future>>) &&>;

  // Start() into the table for `key.principal`, once per `key.request_id`
  // when that is not empty (StartOnce()), with their errors; `accepted` is
  // called with the future once it is accepted. With a journal that is when
  // its record is committed: on the journal's thread, and only then is the
  // task queued; a future is never shown done before its end is committed
  // either. A retry of a request ID whose future is not committed yet is
  // answered with it once it is. Without a journal, inline.
  void Submit(const RequestKey& key, PreparedCall call,
              std::optional<absl::Duration> timeout, Accepted accepted);

  // Brings back what the journal holds: done futures into the table until
  // their retention passes (those without a request ID left on disk, as
  // their ID, owner and end time, until looked up); pending ones queued again
  // in their pools, in the order they were accepted, with their IDs, deadlines,
  // attempts and retry policies (those past their deadline fail with
  // TimeoutError); those that were running fail with InterruptedError, which
  // their retry policy may retry (at least once). Request IDs are remembered
  // again. Call once, before serving. Without a journal, finds nothing.
  absl::StatusOr<RecoveryCounts> Recover();

  // What AdoptLostNodes() reports of each batch it takes over: the lost
  // node's name and what became of its futures.
  using AdoptionReport =
      absl::AnyInvocable<void(const std::string& node, const RecoveryCounts&)>;

  // Cluster journals only (Journal::OnAdopt; engine_cluster.cc): from now
  // on, the futures of nodes whose lease lapsed are taken over as Recover()
  // takes up this node's own: pending ones queued here with their IDs, order
  // and deadlines; those that were running there fail with NodeLostError;
  // done ones kept until their retention. `report` runs on the journal's
  // thread after each batch. Call once, after Recover().
  void AdoptLostNodes(AdoptionReport report);

  // Cluster journals only (Journal::OnClaim; engine_cluster.cc): from now
  // on, while a pool has idle workers and nothing queued, pending futures
  // that other nodes accepted and left waiting are claimed for it, twice
  // as many as it has idle workers, and queued here as AdoptLostNodes()
  // queues adopted ones; `report` runs on the journal's thread after each
  // batch. A future of this node claimed by another before it started
  // here never runs here (JournalDispatch()). Call once, after Recover().
  using ClaimReport = absl::AnyInvocable<void(const RecoveryCounts&)>;
  void ClaimIdleWork(ClaimReport report);

  // What LookUpElsewhere() answers: a snapshot, or the error.
  using LookedUp = absl::AnyInvocable<void(absl::StatusOr<FutureSnapshot>) &&>;

  // For an ID Find() does not know: in a cluster, `principal`'s future `id`
  // as the journal has it on whichever node holds it (a snapshot, not a
  // future to wait on), given to `looked_up` on the journal's thread;
  // NOT_FOUND (inline without a cluster journal) when there is none.
  void LookUpElsewhere(std::string id, std::string principal,
                       LookedUp looked_up) const;

  // In a cluster (EngineOptions::bus): starts serving the other nodes'
  // requests for this node's futures (cancel, release, as Find() and
  // Release() would for their principal) and following which futures end
  // elsewhere. Call once, after Recover(). Without a bus, nothing.
  void ServeCluster();

  // `principal`'s futures `ids` (distinct), in their order: this node's
  // from the table and, in a cluster, other nodes' as mirrors
  // (RemoteFutures::Find()). NOT_FOUND naming the first that is nowhere.
  // `found` runs inline when every one is here, else on the bus's thread.
  void FindAnywhere(std::vector<std::string> ids, std::string principal,
                    RemoteFutures::Found found) const;

  // Release() of `ids`, in a cluster also of other nodes' futures (asked of
  // their nodes, RemoteFutures::Release()): NOT_FOUND or
  // FAILED_PRECONDITION before any is released. `released` runs inline
  // when every one is here, else on the bus's thread.
  void ReleaseAnywhere(std::vector<std::string> ids, std::string principal,
                       RemoteFutures::Released released);

  // Other nodes' futures, in a cluster; null otherwise.
  RemoteFutures* elsewhere() const { return remote_.get(); }

  // Figures of the journal; unset without one.
  std::optional<JournalStats> JournalStatistics() const;

  // The bound arguments future `id` was submitted with, which only the
  // journal keeps: FAILED_PRECONDITION without a journal, NOT_FOUND for a
  // future it does not hold (Run's and Map's, or one forgotten).
  absl::StatusOr<google::protobuf::ListValue> CallArguments(
      absl::string_view id) const;

  // Cancels `future` for its owner (Future::CancelByOwner()). With a
  // journal, the owner's cancellation is journaled even while the daemon
  // stops, when a stop's would not be: a future its owner cancelled in the
  // shutdown grace stays CANCELLED after the restart, including one the
  // stop had cancelled (held back, to run again) just before.
  CancelAction Cancel(const std::shared_ptr<Future>& future,
                      bool only_if_pending) const;

  // The table's lookup and release, for `principal`'s own futures: another
  // principal's future is NOT_FOUND, exactly as an unknown ID. A done
  // future that Recover() left on disk is read from the journal by the
  // first lookup that needs it (one indexed read, on the caller's thread;
  // the journal's error if that read fails).
  absl::StatusOr<std::shared_ptr<Future>> Find(
      absl::string_view id, absl::string_view principal) const;
  absl::StatusOr<int64_t> Release(absl::Span<const std::string> ids,
                                  absl::string_view principal);

  // For the dashboard, which shows `principal`'s futures (nullopt: every
  // principal's): FutureTable::Recent() and FindForViewer(), and each
  // pool's workers by pool name (Pool::Workers()).
  std::vector<std::shared_ptr<Future>> RecentFutures(
      std::optional<absl::string_view> principal) const {
    return table_.Recent(principal);
  }
  absl::StatusOr<std::shared_ptr<Future>> FindForViewer(
      absl::string_view id, std::optional<absl::string_view> principal) const {
    return table_.FindForViewer(id, principal);
  }
  std::map<std::string, std::vector<WorkerView>> PoolWorkers() const;

  std::vector<const TaskSpec*> Functions() const { return registry_->List(); }
  std::vector<PoolStats> PoolStatistics() const;
  // Done futures by function and outcome, and their run times.
  std::vector<FunctionStats> FunctionStatistics() const {
    return metrics_->Snapshot();
  }
  int64_t FutureCount() const { return table_.size(); }
  // Request IDs remembered (at most one per future in the table).
  int64_t RequestIdCount() const { return requests_.size(); }
  TimerQueue& timers() const { return *timers_; }
  const ArgumentLimits& argument_limits() const {
    return options_.argument_limits;
  }

  // Stops every pool, one after the other: queued futures are cancelled,
  // running tasks get what is left of `grace` (counted from this call) to
  // finish, then their tokens are cancelled (a process pool kills their
  // workers). With a journal, what the stop cancels is neither journaled
  // nor shown: those futures stay pending (or running) in the journal, to
  // be taken up again by Recover() after a restart; then the journal is
  // closed. Returns false if a thread-pool task ignored its token. Blocks;
  // a second call does nothing. Call from the owner's thread only.
  bool Shutdown(absl::Duration grace);

 private:
  // Futures waiting out the backoff before their next attempt, and the
  // timers that will queue them. Shared with those timers and with the
  // futures' done-callbacks, which may run after the engine is gone; pools
  // are touched only under `mu` while not `stopped` (Shutdown() sets it
  // first).
  struct Backoffs {
    absl::Mutex mu;
    bool stopped ABSL_GUARDED_BY(mu) = false;
    std::map<const Future*,
             std::pair<TimerQueue::TimerId, std::weak_ptr<Future>>>
        waiting ABSL_GUARDED_BY(mu);
  };

  // Guards the periodic expiry timer against running after destruction.
  struct ExpiryState {
    absl::Mutex mu;
    bool stopped ABSL_GUARDED_BY(mu) = false;
    TimerQueue::TimerId timer ABSL_GUARDED_BY(mu) = 0;
  };

  void ScheduleDeadline(const std::shared_ptr<Future>& future);
  // Gives `future` its call's retry policy, if any (Future::SetRetry()): a
  // retried attempt is counted, journaled (for a journaled future) and
  // queued into `pool` again after its backoff. `attempt` and `earlier`:
  // where a recovered future stands.
  void ArmRetry(const std::shared_ptr<Future>& future,
                const RetryPolicy* policy, const Task& task, Pool* pool,
                int attempt = 1, std::vector<AttemptError> earlier = {});
  // Queues `future` into `pool` again for its next attempt at `when`;
  // `last` is the error of the attempt that failed, the outcome if that
  // cannot be done.
  static void QueueAfterBackoff(const std::shared_ptr<Backoffs>& backoffs,
                                TimerQueue* timers,
                                const std::shared_ptr<Future>& future,
                                absl::Time when, Task task, Pool* pool,
                                TaskError last);
  // The backoff's timer: queues `future` (null if gone) into `pool` unless
  // it is done or the engine stops; fails it with `last` if the pool
  // refuses it.
  static void QueueAgain(Backoffs& backoffs, std::shared_ptr<Future> future,
                         Task task, Pool* pool, TaskError last);
  // Shutdown(): no attempt is queued any more; the futures waiting for one
  // are cancelled (with a journal, the stop's cancellations stay unshown
  // and unjournaled, so they run after the restart).
  void StopBackoffs();
  // Once the future is done, counts it in metrics_ and, if it `holds_slot`,
  // gives `principal`'s pending slot back.
  void AccountWhenDone(const std::shared_ptr<Future>& future,
                       absl::string_view principal, bool holds_slot = true);
  // Submit() with a journal. Queues the future's record; `accepted` is taken
  // (and `handed_over` set) only then, else the error is returned.
  absl::StatusOr<std::shared_ptr<Future>> Admit(
      const RequestKey& key, PreparedCall call,
      std::optional<absl::Duration> timeout, Accepted& accepted,
      bool& handed_over);
  // Whether `future`, found by its request ID, still waits for its accept
  // record's commit; if so, `accepted` is answered when it is committed.
  bool AwaitAccepted(const std::shared_ptr<Future>& future, Accepted& accepted);
  // The answers owed to other Submits of the same request ID as `future`.
  std::vector<Accepted> TakeAcceptWaiters(const std::string& id);
  // The journal has committed (or failed to commit) an admitted future.
  void OnAccepted(absl::Status committed, std::shared_ptr<Future> future,
                  Task task, Pool* pool, const std::string& principal,
                  bool has_timeout, Accepted accepted);
  // A pool's DispatchHook: journals the journaled futures among those
  // dispatched as started and waits until that is committed, so that no
  // task runs unrecorded (at most once); if the commit fails (a full disk),
  // they fail with OSError instead of running. Those another node claimed
  // first go to HandOver().
  DispatchHook JournalDispatch();
  // For a future that another node claimed before this node's start of it
  // was recorded: it must not run here, and whoever waits for it here must
  // see the end the claiming node records. Leaves the table (calls from
  // now on find it on its new node), holds its end back as a Cancel() (so
  // its pool skips it) and shows the new node's end instead once there is
  // one (RemoteFutures::Follow(), Future::PublishInstead()).
  void HandOver(Future& future);
  // What ClaimIdleWork() asks the journal to claim now.
  Journal::ClaimRoom RoomForClaims() const;
  // Journals the future's end; it is shown once committed.
  void JournalEnd(const std::shared_ptr<Future>& future);
  // Brings journaled futures back into the table and pools, as Recover()
  // does: AdoptLostNodes()'s path. Those that were running come back as
  // `interruption` says.
  RecoveryCounts Restore(std::vector<JournaledFuture>& journaled,
                         const Interruption& interruption);
  // Recover()'s and Restore()'s step for one journaled future; pending ones
  // go into `requeue`, for QueueRestored().
  void RestoreOne(JournaledFuture& journaled, absl::Time now,
                  const Interruption& interruption,
                  std::map<Pool*, std::vector<QueuedTask>>& requeue,
                  RecoveryCounts& counts);
  void RestoreDone(JournaledFuture& journaled);
  // Recover()'s step for a done future it leaves on disk: into the table
  // without its record, for LoadDone() to read when it is looked up.
  void LeaveDone(const Journal::LeftOnDisk& left);
  // The table's loader: the done future `id` that LeaveDone() left on disk.
  absl::StatusOr<std::shared_ptr<Future>> LoadDone(absl::string_view id) const;
  // The done future `journaled` was, outside the table.
  static std::shared_ptr<Future> MakeDone(JournaledFuture& journaled);
  void RestoreUnfinished(JournaledFuture& journaled, absl::Time now,
                         const Interruption& interruption,
                         std::map<Pool*, std::vector<QueuedTask>>& requeue,
                         RecoveryCounts& counts);
  // Queues what RestoreOne() brought back, per pool in the order accepted;
  // what a pool refuses fails.
  void QueueRestored(std::map<Pool*, std::vector<QueuedTask>>& requeue,
                     RecoveryCounts& counts);
  // Remembers a recovered future's request ID.
  void RememberRequest(const AcceptedCall& call,
                       const std::shared_ptr<Future>& future);
  // ServeCluster()'s answer to another node's request for future
  // `request.future_id`: a CancelAction's number, or the count released.
  absl::StatusOr<int64_t> ServeRequest(const PostgresBus::Request& request);
  // Schedules the next sweep of the future table. Requires state->mu.
  void ScheduleExpiryLocked(const std::shared_ptr<ExpiryState>& state)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(state->mu);

  const EngineOptions options_;
  const TaskRegistry* const registry_;
  TimerQueue* const timers_;
  FutureTable table_;
  RequestIndex requests_;  // entries only for futures in table_
  // The answers owed to Submits that found, by request ID, a future whose
  // accept record is not committed yet, by its ID: given, as the first
  // Submit's, once it is. A future with a request ID has an entry from its
  // admission until then.
  absl::Mutex accepting_mu_;
  absl::flat_hash_map<std::string, std::vector<Accepted>> accepting_
      ABSL_GUARDED_BY(accepting_mu_);
  // Shared with done-callbacks, which may run after the engine is gone (a
  // thread-pool task that ignored shutdown).
  const std::shared_ptr<TaskMetrics> metrics_;
  // Shared with done-callbacks, as metrics_ is.
  const std::shared_ptr<PendingLimit> pending_;
  std::map<std::string, std::unique_ptr<Pool>, std::less<>> pools_;
  const std::shared_ptr<ExpiryState> expiry_ = std::make_shared<ExpiryState>();
  const std::shared_ptr<Backoffs> backoffs_ = std::make_shared<Backoffs>();
  Journal* const journal_;
  const std::unique_ptr<RemoteFutures> remote_;  // null without a bus
  // Set as Shutdown() begins: cancellations from then on are the stop's.
  // Shared with end hooks, which may run after the engine is gone.
  const std::shared_ptr<std::atomic<bool>> stopping_ =
      std::make_shared<std::atomic<bool>>(false);
  bool shut_down_ = false;  // touched only by the owner's thread
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_ENGINE_ENGINE_H_
