// A flag a task polls or waits on to learn that it should stop.
#ifndef FUTURED_SERVER_TASK_CANCELLATION_TOKEN_H_
#define FUTURED_SERVER_TASK_CANCELLATION_TOKEN_H_

#include <cstdint>
#include <map>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace futured::server {

// Set once by Cancel(), never reset. Thread-safe: any thread may Cancel()
// while the task's thread polls or waits. Callbacks added with
// AddCancelCallback() run once, on the thread that cancels (or inline in
// AddCancelCallback() if already cancelled), with no lock held; they must be
// quick and must not block.
class CancellationToken {
 public:
  using Callback = absl::AnyInvocable<void() &&>;
  using CallbackId = uint64_t;

  CancellationToken() = default;
  CancellationToken(const CancellationToken&) = delete;
  CancellationToken& operator=(const CancellationToken&) = delete;

  // Asks the task to stop. Idempotent; wakes every waiter and runs the
  // cancel callbacks the first time.
  void Cancel() ABSL_LOCKS_EXCLUDED(mu_);

  // Runs `callback` once when the token is cancelled: inline now if it is
  // already (and returns 0), else later (and returns an ID for
  // RemoveCancelCallback). For watchers that cannot poll, such as a process
  // pool that must kill the worker of a cancelled task.
  // Const: watching a token does not change what it says.
  CallbackId AddCancelCallback(Callback callback) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Drops a callback that has not run. No-op for 0 or an ID that ran.
  void RemoveCancelCallback(CallbackId id) const ABSL_LOCKS_EXCLUDED(mu_);

  bool IsCancelled() const ABSL_LOCKS_EXCLUDED(mu_);

  // Blocks until cancelled or `deadline`, whichever is first. Returns true
  // if cancelled.
  bool WaitUntil(absl::Time deadline) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  // Allocated only while there are callbacks: every future has a token, and
  // most tokens are never watched.
  mutable std::unique_ptr<std::map<CallbackId, Callback>> callbacks_
      ABSL_GUARDED_BY(mu_);
  mutable CallbackId next_callback_id_ ABSL_GUARDED_BY(mu_) = 1;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASK_CANCELLATION_TOKEN_H_
