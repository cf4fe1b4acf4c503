#include "server/engine/request_index.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace futured::server {

absl::Status RequestIndex::ValidateRequestId(absl::string_view request_id) {
  if (request_id.size() <= kMaxRequestIdSize) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("request_id is ", request_id.size(), " bytes; at most ",
                   kMaxRequestIdSize, " allowed"));
}

absl::StatusOr<std::shared_ptr<Future>> RequestIndex::StartOnce(
    const RequestKey& key, uint64_t fingerprint, FindFn find, StartFn start) {
  Key map_key(key.principal, key.request_id);
  absl::MutexLock lock(&mu_);
  auto it = by_key_.find(map_key);
  if (it != by_key_.end()) {
    absl::StatusOr<std::shared_ptr<Future>> earlier =
        find(it->second.future_id);
    if (earlier.ok()) {
      if (it->second.fingerprint != fingerprint) {
        return absl::AlreadyExistsError(absl::StrCat(
            "request_id '", key.request_id,
            "' was used for another call (future ", it->second.future_id,
            "); a retry must repeat the call exactly: function, args, kwargs, "
            "pool and timeout"));
      }
      return earlier;
    }
    // Its future has left the table; Forget() has not run yet.
    by_future_.erase(it->second.future_id);
    by_key_.erase(it);
  }
  absl::StatusOr<std::shared_ptr<Future>> future = start();
  if (!future.ok()) return future;
  const std::string& future_id = (*future)->id();
  by_future_.emplace(future_id, map_key);
  by_key_.emplace(std::move(map_key),
                  Entry{.future_id = future_id, .fingerprint = fingerprint});
  return future;
}

void RequestIndex::Forget(absl::string_view future_id) {
  absl::MutexLock lock(&mu_);
  auto it = by_future_.find(future_id);
  if (it == by_future_.end()) return;
  by_key_.erase(it->second);
  by_future_.erase(it);
}

size_t RequestIndex::size() const {
  absl::MutexLock lock(&mu_);
  return by_key_.size();
}

}  // namespace futured::server
