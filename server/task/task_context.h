// What a running task sees of the daemon: its cancellation token, its
// deadline, the kind of pool it runs in and where its progress goes.
#ifndef FUTURED_SERVER_TASK_TASK_CONTEXT_H_
#define FUTURED_SERVER_TASK_TASK_CONTEXT_H_

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/task/cancellation_token.h"
#include "server/task/progress.h"

namespace futured::server {

// Where a task runs: on a thread of the daemon, or in a worker process that
// may crash or be killed without harming the daemon.
enum class PoolKind { kThread, kProcess };

// "thread" or "process".
inline const char* PoolKindName(PoolKind kind) {
  return kind == PoolKind::kProcess ? "process" : "thread";
}

// Handed to a task function for the length of one call. Not owned by the
// task; valid only during the call. Used from the task's thread only (the
// token inside it is thread-safe).
class TaskContext {
 public:
  // `progress` (may be null: reports are dropped) must outlive the context.
  TaskContext(const CancellationToken& token, absl::Time deadline,
              PoolKind pool_kind = PoolKind::kThread,
              ProgressSink* progress = nullptr)
      : token_(token),
        deadline_(deadline),
        pool_kind_(pool_kind),
        progress_(progress) {}

  // True once the future was cancelled or its deadline passed. In a process
  // pool this stays false: a task there is stopped by killing its worker.
  bool IsCancelled() const { return token_.IsCancelled(); }

  // absl::InfiniteFuture() when the submit had no timeout.
  absl::Time deadline() const { return deadline_; }

  // kProcess when the task runs in a worker process of its own.
  PoolKind pool_kind() const { return pool_kind_; }

  // Reports how far the task is: `fraction` in [0, 1] (clamped) and a short
  // message. Cheap; rapid reports are coalesced.
  void ReportProgress(double fraction, absl::string_view message = "") const {
    if (progress_ != nullptr) progress_->Report(fraction, message);
  }

  // Sleeps for `d` unless cancelled first. Returns false if cancelled.
  bool SleepFor(absl::Duration d) const {
    return !token_.WaitUntil(absl::Now() + d);
  }

 private:
  const CancellationToken& token_;
  const absl::Time deadline_;
  const PoolKind pool_kind_;
  ProgressSink* const progress_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASK_TASK_CONTEXT_H_
