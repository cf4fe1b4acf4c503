#include "server/pools/pool.h"

#include "absl/strings/str_cat.h"

namespace futured::server {

absl::Status QueueRoom(absl::string_view kind, absl::string_view name,
                       int64_t queued, size_t adding, int64_t capacity) {
  const int64_t wanted = static_cast<int64_t>(adding);
  if (queued + wanted <= capacity) return absl::OkStatus();
  if (wanted == 1) {
    return absl::ResourceExhaustedError(absl::StrCat(
        kind, " pool '", name, "' queue is full (", queued, " queued)"));
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      kind, " pool '", name, "' queue has no room for ", wanted,
      " more tasks (", queued, " queued of at most ", capacity, ")"));
}

bool Pool::AwaitRunningTasks(absl::Duration grace, absl::Duration stop_wait) {
  if (AwaitNoneRunning(grace)) return true;
  for (const std::shared_ptr<Future>& future : RunningFutures()) {
    future->Cancel(absl::Now());
    future->RequestStop();
  }
  return AwaitNoneRunning(stop_wait);
}

}  // namespace futured::server
