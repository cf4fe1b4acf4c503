#include "server/task/cancellation_token.h"

#include <utility>

namespace futured::server {

void CancellationToken::Cancel() {
  std::unique_ptr<std::map<CallbackId, Callback>> callbacks;
  {
    absl::MutexLock lock(&mu_);
    if (cancelled_) return;
    cancelled_ = true;
    callbacks.swap(callbacks_);
  }
  if (callbacks == nullptr) return;
  for (auto& [id, callback] : *callbacks) std::move(callback)();
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

CancellationToken::CallbackId CancellationToken::AddCancelCallback(
    Callback callback) const {
  {
    absl::MutexLock lock(&mu_);
    if (!cancelled_) {
      const CallbackId id = next_callback_id_++;
      if (callbacks_ == nullptr) {
        callbacks_ = std::make_unique<std::map<CallbackId, Callback>>();
      }
      callbacks_->emplace(id, std::move(callback));
      return id;
    }
  }
  std::move(callback)();
  return 0;
}

void CancellationToken::RemoveCancelCallback(CallbackId id) const {
  absl::MutexLock lock(&mu_);
  if (callbacks_ == nullptr) return;
  callbacks_->erase(id);
  if (callbacks_->empty()) callbacks_.reset();
}

}  // namespace futured::server
