// How many unfinished futures each principal may have.
#ifndef FUTURED_SERVER_ENGINE_PENDING_LIMIT_H_
#define FUTURED_SERVER_ENGINE_PENDING_LIMIT_H_

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace futured::server {

// Counts each principal's futures that are not done yet (queued or
// running) and refuses a new one past `limit`, so that one client cannot
// fill the daemon's queues for all. The Engine acquires a slot when it
// starts a future and releases it from the future's done-callback. A limit
// of 0 means unlimited (nothing is counted). Thread-safe; never blocks for
// long.
class PendingLimit {
 public:
  explicit PendingLimit(int64_t limit) : limit_(limit) {}
  PendingLimit(const PendingLimit&) = delete;
  PendingLimit& operator=(const PendingLimit&) = delete;

  bool enabled() const { return limit_ > 0; }

  // Counts `count` more pending futures of `principal`, or
  // RESOURCE_EXHAUSTED (counting nothing) when that would pass `limit`.
  absl::Status Acquire(absl::string_view principal, int64_t count = 1)
      ABSL_LOCKS_EXCLUDED(mu_);

  // `count` futures of `principal` are done (or were never queued). Each
  // future acquired is released exactly once.
  void Release(absl::string_view principal, int64_t count = 1)
      ABSL_LOCKS_EXCLUDED(mu_);

  // `principal`'s pending futures now.
  int64_t pending(absl::string_view principal) const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const int64_t limit_;
  mutable absl::Mutex mu_;
  // Principals with a pending future only: an entry goes at zero.
  absl::flat_hash_map<std::string, int64_t> pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_ENGINE_PENDING_LIMIT_H_
