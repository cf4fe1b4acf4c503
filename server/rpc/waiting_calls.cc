#include "server/rpc/waiting_calls.h"

#include <vector>

namespace futured::server::rpc {

bool WaitingCalls::Add(std::shared_ptr<WaitingCall> call) {
  absl::MutexLock lock(&mu_);
  if (draining_) return false;
  const WaitingCall* key = call.get();
  calls_.emplace(key, std::move(call));
  return true;
}

void WaitingCalls::Remove(const WaitingCall* call) {
  absl::MutexLock lock(&mu_);
  calls_.erase(call);
}

void WaitingCalls::Drain(const grpc::Status& status) {
  std::vector<std::shared_ptr<WaitingCall>> live;
  {
    absl::MutexLock lock(&mu_);
    draining_ = true;
    live.reserve(calls_.size());
    for (const auto& [key, call] : calls_) live.push_back(call);
  }
  // Outside the lock: a call that ends removes itself.
  for (const auto& call : live) call->Abort(status);
}

bool WaitingCalls::draining() const {
  absl::MutexLock lock(&mu_);
  return draining_;
}

int64_t WaitingCalls::size() const {
  absl::MutexLock lock(&mu_);
  return calls_.size();
}

}  // namespace futured::server::rpc
