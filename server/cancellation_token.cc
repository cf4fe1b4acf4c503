#include "server/cancellation_token.h"

namespace futured {

void CancellationToken::Cancel() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
}

bool CancellationToken::IsCancelled() const {
  absl::MutexLock lock(&mu_);
  return cancelled_;
}

bool CancellationToken::WaitUntil(absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithDeadline(absl::Condition(&cancelled_), deadline);
  return cancelled_;
}

}  // namespace futured
