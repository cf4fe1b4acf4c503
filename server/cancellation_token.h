// A flag a task polls or waits on to learn that it should stop.
#ifndef FUTURED_SERVER_CANCELLATION_TOKEN_H_
#define FUTURED_SERVER_CANCELLATION_TOKEN_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace futured {

// Set once by Cancel(), never reset. Thread-safe: any thread may Cancel()
// while the task's thread polls or waits.
class CancellationToken {
 public:
  CancellationToken() = default;
  CancellationToken(const CancellationToken&) = delete;
  CancellationToken& operator=(const CancellationToken&) = delete;

  // Asks the task to stop. Idempotent; wakes every waiter.
  void Cancel() ABSL_LOCKS_EXCLUDED(mu_);

  bool IsCancelled() const ABSL_LOCKS_EXCLUDED(mu_);

  // Blocks until cancelled or `deadline`, whichever is first. Returns true
  // if cancelled.
  bool WaitUntil(absl::Time deadline) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace futured

#endif  // FUTURED_SERVER_CANCELLATION_TOKEN_H_
