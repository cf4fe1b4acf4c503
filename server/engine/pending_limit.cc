#include "server/engine/pending_limit.h"

#include "absl/strings/str_cat.h"

namespace futured::server {

absl::Status PendingLimit::Acquire(absl::string_view principal, int64_t count) {
  if (!enabled()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  auto it = pending_.find(principal);
  const int64_t pending = it == pending_.end() ? 0 : it->second;
  if (pending + count > limit_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        principal.empty() ? "the anonymous caller"
                          : absl::StrCat("principal '", principal, "'"),
        " has ", pending, " futures pending",
        count == 1 ? "" : absl::StrCat(" and asks for ", count, " more"),
        "; at most ", limit_,
        " allowed (--max_pending_per_principal); wait for some to finish"));
  }
  if (it == pending_.end()) {
    pending_.emplace(principal, count);
  } else {
    it->second += count;
  }
  return absl::OkStatus();
}

void PendingLimit::Release(absl::string_view principal, int64_t count) {
  if (!enabled()) return;
  absl::MutexLock lock(&mu_);
  auto it = pending_.find(principal);
  if (it == pending_.end()) return;
  it->second -= count;
  if (it->second <= 0) pending_.erase(it);
}

int64_t PendingLimit::pending(absl::string_view principal) const {
  absl::MutexLock lock(&mu_);
  auto it = pending_.find(principal);
  return it == pending_.end() ? 0 : it->second;
}

}  // namespace futured::server
