// A server-side future: one submitted call, its state machine and outcome.
#ifndef FUTURED_SERVER_FUTURE_FUTURE_H_
#define FUTURED_SERVER_FUTURE_FUTURE_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "server/future/retry_policy.h"
#include "server/task/cancellation_token.h"
#include "server/task/outcome.h"
#include "server/task/progress.h"

namespace futured::server {

enum class FutureState : uint8_t { kPending, kRunning, kFinished, kCancelled };

// "PENDING", "RUNNING", "FINISHED", "CANCELLED".
const char* FutureStateName(FutureState state);

// What Cancel() did.
enum class CancelAction {
  kCancelledPending,  // it had not started; it is CANCELLED and never runs
  kStopRequested,     // it was running; its token is cancelled
  kAlreadyDone,       // it was FINISHED or CANCELLED already
  kLeftRunning,       // CancelIfPending(): it was running; left alone
};

// A consistent copy of a future's fields at one moment.
struct FutureSnapshot {
  std::string id;
  std::string function;
  std::string pool;
  FutureState state = FutureState::kPending;
  std::optional<Outcome> outcome;  // set when done
  absl::Time submit_time;
  std::optional<absl::Time> start_time;
  std::optional<absl::Time> end_time;
  absl::Time deadline = absl::InfiniteFuture();
  int worker_pid = 0;  // the process that ran it; 0 in a thread pool
  std::optional<Progress> progress;            // the latest the task reported
  int attempt = 1;                             // 1 for the first (SetRetry())
  int max_attempts = 1;                        // 1 without a retry policy
  std::vector<AttemptError> earlier_attempts;  // failed and retried

  bool done() const {
    return state == FutureState::kFinished || state == FutureState::kCancelled;
  }
};

// How a done future ended: what Map sends for each input, without the
// names and state a FutureSnapshot copies.
struct FutureEnding {
  Outcome outcome;
  std::optional<absl::Time> start_time =
      std::nullopt;  // unset if never started
  absl::Time end_time;
};

// One submitted call. Shared (std::shared_ptr) by the future table, the pool
// that runs it and whoever waits on it. Thread-safe.
//
// Legal transitions, enforced here:
//   PENDING -> RUNNING            Start()
//   PENDING -> CANCELLED          Cancel()
//   PENDING -> FINISHED           Finish() (it failed before it could start,
//                                 e.g. its deadline passed in the queue)
//   RUNNING -> FINISHED|CANCELLED Finish() (CANCELLED for a Cancelled outcome)
// FINISHED and CANCELLED are final; every later transition returns false.
// With a retry policy (SetRetry()) one more:
//   RUNNING -> PENDING            Finish() with an error the policy retries
//                                 (the next attempt)
//
// Done-callbacks run exactly once, on the thread that completed the future
// (or inline in AddDoneCallback if it is already done), with no lock held.
// They must be quick and must not block.
//
// Change-callbacks run on every Start() and SetProgress(), on that thread,
// with no lock held: for whoever follows a future's progress. They too must
// be quick; one removed may still run once if a change was under way.
//
// With an end hook (SetEndHook()), the end is recorded before it is shown:
// the future takes its outcome and refuses every later transition, but
// still shows itself PENDING or RUNNING (state(), done(), Snapshot(),
// Ending() ...) and runs no done-callback until Publish(). The hook runs
// once, outside the lock, on the thread that ended it; whoever it hands the
// ending to (a journal) calls Publish() once that ending is durable.
//
// Kept small, as the table retains up to millions of done futures: what most
// futures never have (callbacks, progress, an error outcome) is allocated
// only when it appears, and the callbacks are freed when the future is done.
class Future {
 public:
  using Callback = absl::AnyInvocable<void() &&>;
  using ChangeCallback = std::function<void()>;
  using CallbackId = uint64_t;
  // See SetWithdraw(): true if the runner will never start the task.
  using Withdraw = absl::AnyInvocable<bool()>;
  // See SetEndHook(): how the future ended, before anyone is told.
  using EndHook = absl::AnyInvocable<void(FutureState, FutureEnding) &&>;
  // See SetRetry(): the number of the attempt to come and every failed
  // attempt so far, oldest first.
  using RetryHook =
      std::function<void(int next_attempt, std::vector<AttemptError> earlier)>;

  Future(std::string id, std::string function, std::string pool,
         absl::Time submit_time, absl::Time deadline = absl::InfiniteFuture());
  Future(const Future&) = delete;
  Future& operator=(const Future&) = delete;

  const std::string& id() const { return id_; }
  const std::string& function() const { return function_; }
  const std::string& pool() const { return pool_; }
  // absl::InfiniteFuture() for none (and for one past the year 2262).
  absl::Time deadline() const {
    return deadline_ == kNoDeadline ? absl::InfiniteFuture()
                                    : absl::FromUnixNanos(deadline_);
  }

  // The token its task watches. Cancel() and a running task's deadline
  // cancel it.
  const CancellationToken& token() const { return token_; }

  // PENDING -> RUNNING, in worker process `worker_pid` (0 for a thread).
  // False if the future is not PENDING (e.g. it was cancelled in the queue);
  // the caller must then not run the task.
  bool Start(absl::Time now, int worker_pid = 0) ABSL_LOCKS_EXCLUDED(mu_);

  // For a task handed, still PENDING, to a runner that may start it at any
  // moment without this lock (a batch sent to a worker process). Until
  // Start() or done, Cancel(), CancelIfPending() and FailAndStop() of the
  // PENDING future first call `withdraw` under the lock (so it must be
  // quick and take no lock): true means the runner will never start the
  // task, and they go on as for any PENDING future; false means the runner
  // has started it, so the future becomes RUNNING in `worker_pid` (start
  // time: the call's) and they go on as for a running one. False (and
  // nothing is kept) unless PENDING; a later call replaces the hook.
  bool SetWithdraw(Withdraw withdraw, int worker_pid) ABSL_LOCKS_EXCLUDED(mu_);

  // Holds the future's end back until Publish() (see the class comment) and
  // hands it to `hook` when it comes. Call before anything can end it.
  void SetEndHook(EndHook hook) ABSL_LOCKS_EXCLUDED(mu_);

  // Gives the future a retry policy. From then on an attempt that started
  // and ends in Finish() with a TaskError that `policy` retries (its type,
  // attempts left), unless a stop was asked for (Cancel(), the token), does
  // not end the future: it goes back to PENDING for the next attempt (start
  // time, worker and progress cleared; the failed attempt kept), runs the
  // change-callbacks and then `hook`, with no lock held, on the thread that
  // called Finish(). No done-callback and no end hook run. Whoever set
  // `hook` queues the task again. Call before anything can end it; `hook`
  // is dropped once the future is done. `attempt` and `earlier` are where
  // the future stands (a recovered one may be past its first attempt).
  void SetRetry(RetryPolicy policy, RetryHook hook, int attempt = 1,
                std::vector<AttemptError> earlier = {})
      ABSL_LOCKS_EXCLUDED(mu_);

  // Whether an end hook waits for its end (set, and the future not ended).
  bool HasEndHook() const ABSL_LOCKS_EXCLUDED(mu_);

  // Shows the end held back for the end hook and runs the done-callbacks.
  // No-op unless an end is held back.
  void Publish() ABSL_LOCKS_EXCLUDED(mu_);

  // Publish(), but shows `state` (FINISHED or CANCELLED) and `ending`
  // instead of the end held back: for a future that another node ran after
  // all (it claimed it; the end held back here only kept it from running).
  void PublishInstead(FutureState state, FutureEnding ending, int worker_pid)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Sets the outcome: PENDING or RUNNING -> FINISHED, or CANCELLED for a
  // Cancelled outcome of a running task. False if already done (the outcome
  // is dropped) or for Cancelled on a pending future (use Cancel()). True
  // also when the retry policy takes the error for another attempt
  // (SetRetry()).
  bool Finish(Outcome outcome, absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  // Finish() with `error`, then cancels the token so that a running task
  // stops: for a deadline. The token is cancelled before the done-callbacks
  // run, so whoever hears of the failure sees the stop request too.
  bool FailAndStop(TaskError error, absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  // Python's Future.cancel(), plus a stop request for a running task.
  // Cancels the token unless the future is already done.
  CancelAction Cancel(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  // Cancel(), or CancelIfPending() when `only_if_pending`, asked by the
  // future's owner (its Cancel call, the dashboard): remembered, so that an
  // end hook can tell it from a daemon's stop (CancelledByOwner()).
  CancelAction CancelByOwner(absl::Time now, bool only_if_pending)
      ABSL_LOCKS_EXCLUDED(mu_);
  bool CancelledByOwner() const ABSL_LOCKS_EXCLUDED(mu_);

  // The final state held back for the end hook; unset when none is.
  std::optional<FutureState> HeldEnd() const ABSL_LOCKS_EXCLUDED(mu_);

  // Python's shutdown(cancel_futures=True) for one future: cancels it only if
  // it has not started. PENDING -> CANCELLED (kCancelledPending; it never
  // runs); RUNNING is left alone, token untouched (kLeftRunning); done is
  // kAlreadyDone. The check and the transition are one step under the lock,
  // so a task that starts concurrently is never stopped.
  CancelAction CancelIfPending(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

  // Records the progress a RUNNING task reported and runs the
  // change-callbacks. False (and dropped) unless RUNNING.
  bool SetProgress(Progress progress) ABSL_LOCKS_EXCLUDED(mu_);

  // Runs `callback` on each later change (see the class comment) until
  // removed or the future is done. Returns an ID for RemoveChangeCallback
  // (0, and nothing kept, once the future has ended).
  CallbackId AddChangeCallback(ChangeCallback callback)
      ABSL_LOCKS_EXCLUDED(mu_);
  void RemoveChangeCallback(CallbackId id) ABSL_LOCKS_EXCLUDED(mu_);

  // Cancels the token only, leaving the state alone: for a deadline that
  // has already failed the future with Finish().
  void RequestStop() { token_.Cancel(); }

  // Runs `callback` once when the future is done: inline now if it is done
  // already (and returns 0), else later (and returns an ID for
  // RemoveDoneCallback).
  CallbackId AddDoneCallback(Callback callback) ABSL_LOCKS_EXCLUDED(mu_);

  // Drops a callback that has not run. No-op for 0 or an ID that ran.
  void RemoveDoneCallback(CallbackId id) ABSL_LOCKS_EXCLUDED(mu_);

  FutureState state() const ABSL_LOCKS_EXCLUDED(mu_);
  bool done() const ABSL_LOCKS_EXCLUDED(mu_);
  // FINISHED with a TaskError outcome: what FIRST_EXCEPTION waits for.
  bool Raised() const ABSL_LOCKS_EXCLUDED(mu_);
  // How long its task ran (end - start), once done; unset if it never
  // started. Cheaper than Snapshot(): no outcome is copied.
  std::optional<absl::Duration> RunTime() const ABSL_LOCKS_EXCLUDED(mu_);
  FutureSnapshot Snapshot() const ABSL_LOCKS_EXCLUDED(mu_);
  // How it ended; unset until it is done.
  std::optional<FutureEnding> Ending() const ABSL_LOCKS_EXCLUDED(mu_);
  // When it became done; unset until then. Snapshot().end_time without the
  // copy, for the future table.
  std::optional<absl::Time> end_time() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Cancel() and CancelIfPending(): a running future is told to stop, or
  // left alone when `leave_running`.
  CancelAction CancelUnlessLeftRunning(absl::Time now, bool leave_running)
      ABSL_LOCKS_EXCLUDED(mu_);

  // The change-callbacks to run after a change made under the lock.
  std::vector<std::shared_ptr<const ChangeCallback>> ChangeCallbacksLocked()
      const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // A PENDING future whose runner has claimed its task (SetWithdraw())
  // becomes RUNNING; returns the change-callbacks to run. Nothing (and no
  // callbacks) otherwise.
  std::vector<std::shared_ptr<const ChangeCallback>> WithdrawOrStartLocked(
      absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The retry policy, where the future stands in it, and its failed
  // attempts; allocated by SetRetry() only.
  struct Attempts {
    RetryPolicy policy;
    RetryHook hook;  // dropped when done
    int number = 1;
    std::vector<AttemptError> earlier;
    bool stop_requested = false;  // Cancel() told a running attempt to stop
  };

  // Finish() of an error that the retry policy takes: back to PENDING for
  // the next attempt. Returns false (nothing changed) if the policy does
  // not retry `error`.
  bool RetryLocked(TaskError& error, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // What to do outside the lock once the future has ended: run the
  // done-callbacks, or hand the end to the end hook.
  struct Completion {
    std::map<CallbackId, Callback> callbacks;
    EndHook hook;
    FutureState state = FutureState::kFinished;
    std::optional<FutureEnding> ending;

    void Run() &&;
  };

  // Moves to a final state (or holds it back for the end hook) and returns
  // what to do next.
  Completion CompleteLocked(FutureState state, Outcome outcome, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // No transition may happen any more: done, or its end held back.
  bool ClosedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The final state, shown or held back; state_ if neither.
  FutureState FinalStateLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The callbacks of a future that is not done yet; allocated by the first
  // Add*Callback() or SetWithdraw(), freed when the future is done.
  struct Callbacks {
    std::map<CallbackId, Callback> done;
    std::map<CallbackId, std::shared_ptr<const ChangeCallback>> change;
    Withdraw withdraw;  // set while PENDING in a runner's hands
    int withdraw_pid = 0;
    EndHook end_hook;
    // Here rather than in the future: no callback is added once they are
    // freed, so IDs never repeat.
    CallbackId next_id = 1;
  };

  // When it started; unset if it has not.
  std::optional<absl::Time> StartTimeLocked() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The outcome as an Outcome; only when done.
  Outcome OutcomeLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Callbacks& CallbacksLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Constant after construction.
  const std::string id_;
  const std::string function_;
  const std::string pool_;
  // Times are kept as Unix nanoseconds (absl::Now()'s resolution): 8 bytes
  // where an absl::Time takes 16. kUnsetTime until set; kNoDeadline (where
  // absl::ToUnixNanos() saturates) for no deadline. The future then fits
  // 240 bytes, 256 with std::make_shared's count: a size class of jemalloc.
  static constexpr int64_t kUnsetTime = std::numeric_limits<int64_t>::min();
  static constexpr int64_t kNoDeadline = std::numeric_limits<int64_t>::max();
  const int64_t submit_time_;
  const int64_t deadline_;
  CancellationToken token_;

  mutable absl::Mutex mu_;
  FutureState state_ ABSL_GUARDED_BY(mu_) = FutureState::kPending;
  // The final state held back for the end hook; kPending when none is.
  FutureState held_end_ ABSL_GUARDED_BY(mu_) = FutureState::kPending;
  bool cancelled_by_owner_ ABSL_GUARDED_BY(mu_) = false;
  int worker_pid_ ABSL_GUARDED_BY(mu_) = 0;
  // The outcome, once done: Cancelled if CANCELLED, else error_ if set, else
  // value_.
  google::protobuf::Value value_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<TaskError> error_ ABSL_GUARDED_BY(mu_);
  int64_t start_time_ ABSL_GUARDED_BY(mu_) = kUnsetTime;
  int64_t end_time_ ABSL_GUARDED_BY(mu_) = kUnsetTime;
  std::unique_ptr<Progress> progress_ ABSL_GUARDED_BY(mu_);  // the latest
  std::unique_ptr<Callbacks> callbacks_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<Attempts> attempts_ ABSL_GUARDED_BY(mu_);
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_FUTURE_FUTURE_H_
