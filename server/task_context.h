// What a running task sees of the daemon: its cancellation token and deadline.
#ifndef FUTURED_SERVER_TASK_CONTEXT_H_
#define FUTURED_SERVER_TASK_CONTEXT_H_

#include "absl/time/time.h"
#include "server/cancellation_token.h"

namespace futured {

// Handed to a task function for the length of one call. Not owned by the
// task; valid only during the call. Used from the task's thread only (the
// token inside it is thread-safe).
class TaskContext {
 public:
  TaskContext(const CancellationToken& token, absl::Time deadline)
      : token_(token), deadline_(deadline) {}

  // True once the future was cancelled or its deadline passed.
  bool IsCancelled() const { return token_.IsCancelled(); }

  // absl::InfiniteFuture() when the submit had no timeout.
  absl::Time deadline() const { return deadline_; }

  // Sleeps for `d` unless cancelled first. Returns false if cancelled.
  bool SleepFor(absl::Duration d) const {
    return !token_.WaitUntil(absl::Now() + d);
  }

 private:
  const CancellationToken& token_;
  const absl::Time deadline_;
};

}  // namespace futured

#endif  // FUTURED_SERVER_TASK_CONTEXT_H_
