#include "server/pending_limit.h"

#include "absl/strings/str_cat.h"

namespace futured::server {

absl::Status PendingLimit::Acquire(absl::string_view principal) {
  if (!enabled()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  int64_t& count = pending_[principal];
  if (count >= limit_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        principal.empty() ? "the anonymous caller"
                          : absl::StrCat("principal '", principal, "'"),
        " has ", count, " futures pending; at most ", limit_,
        " allowed (--max_pending_per_principal); wait for some to finish"));
  }
  ++count;
  return absl::OkStatus();
}

void PendingLimit::Release(absl::string_view principal) {
  if (!enabled()) return;
  absl::MutexLock lock(&mu_);
  auto it = pending_.find(principal);
  if (it == pending_.end()) return;
  if (--it->second <= 0) pending_.erase(it);
}

int64_t PendingLimit::pending(absl::string_view principal) const {
  absl::MutexLock lock(&mu_);
  auto it = pending_.find(principal);
  return it == pending_.end() ? 0 : it->second;
}

}  // namespace futured::server
