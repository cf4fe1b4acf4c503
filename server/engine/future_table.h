// The daemon's futures by ID, kept until released or expired.
#ifndef FUTURED_SERVER_ENGINE_FUTURE_TABLE_H_
#define FUTURED_SERVER_ENGINE_FUTURE_TABLE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "server/future/future.h"

namespace futured::server {

// Maps future IDs to futures and each future to its owner, the principal
// that submitted it. Lookups name the caller: another owner's future is
// NOT_FOUND with the same message as an ID that never existed, so IDs do
// not leak between principals. A done future stays until Release() or until
// `retention` has passed since it ended (ExpireFinished), so memory stays
// bounded. Thread-safe. Must outlive every future inserted into it that can
// still complete (it registers a done-callback on each).
//
// Memory per retained future matters (a daemon may hold millions): the
// table keys by a view of the future's own ID, and the list of ended
// futures holds IDs inline, so an entry allocates nothing of its own. IDs
// are at most kMaxIdSize bytes (NewFutureId's UUIDs). Owners are interned:
// an entry points at its owner's one copy, and the set of owners (bounded by
// the principals the daemon admits) is never shrunk.
class FutureTable {
 public:
  static constexpr size_t kMaxIdSize = 36;

  explicit FutureTable(absl::Duration retention);
  FutureTable(const FutureTable&) = delete;
  FutureTable& operator=(const FutureTable&) = delete;

  // Adds `future`, owned by `owner` ("" is the anonymous principal). Its ID
  // must be new and at most kMaxIdSize bytes (a longer one is a programming
  // error: the process aborts).
  void Insert(std::shared_ptr<Future> future, absl::string_view owner)
      ABSL_LOCKS_EXCLUDED(mu_);

  // The future `id` if `owner` owns it. NOT_FOUND for an ID not in the table
  // (never made, released or expired) or owned by another principal: the
  // same message either way.
  absl::StatusOr<std::shared_ptr<Future>> Find(absl::string_view id,
                                               absl::string_view owner) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Forgets all of `ids`, or none: NOT_FOUND for an ID Find() would not
  // find, FAILED_PRECONDITION for one that is not done. Duplicates are
  // fine. Returns how many futures were removed.
  absl::StatusOr<int64_t> Release(absl::Span<const std::string> ids,
                                  absl::string_view owner)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Forgets `id` whatever its state: for a future that never got going (its
  // Submit was refused after it was inserted). No-op for an unknown ID.
  void Remove(absl::string_view id) ABSL_LOCKS_EXCLUDED(mu_);

  // Removes done futures that ended at least `retention` before `now`.
  // Returns those it removed (so that the caller can forget what it knows
  // of them, and they are destroyed outside the table's lock).
  std::vector<std::shared_ptr<Future>> ExpireFinished(absl::Time now)
      ABSL_LOCKS_EXCLUDED(mu_);

  int64_t size() const ABSL_LOCKS_EXCLUDED(mu_);

  // For the dashboard. The futures still in the table among the last
  // kRecentCapacity inserted, newest first, owned by `owner` (nullopt: by
  // anyone). Holds the lock for one pass over those kRecentCapacity slots.
  static constexpr size_t kRecentCapacity = 1024;
  std::vector<std::shared_ptr<Future>> Recent(
      std::optional<absl::string_view> owner) const ABSL_LOCKS_EXCLUDED(mu_);

  // Find() for a viewer who may see every owner's futures (nullopt).
  absl::StatusOr<std::shared_ptr<Future>> FindForViewer(
      absl::string_view id, std::optional<absl::string_view> owner) const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // A done future's ID, inline, and when it ended.
  struct Ended {
    absl::Time end_time;
    std::array<char, kMaxIdSize> id;
    uint8_t id_size;

    absl::string_view view() const { return {id.data(), id_size}; }
  };

  struct Entry {
    std::shared_ptr<Future> future;
    const std::string* owner;  // an element of owners_
  };

  void OnDone(const Future& future) ABSL_LOCKS_EXCLUDED(mu_);
  // The entry of `id` if `owner` owns it, else null.
  const Entry* FindOwned(absl::string_view id, absl::string_view owner) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const absl::Duration retention_;

  mutable absl::Mutex mu_;
  // Keyed by a view of the value's id(), which lives as long as the entry.
  absl::flat_hash_map<absl::string_view, Entry> futures_ ABSL_GUARDED_BY(mu_);
  // Every owner seen; node-based, so entries' pointers stay valid.
  absl::node_hash_set<std::string> owners_ ABSL_GUARDED_BY(mu_);
  // Done futures in the order they ended (end times nearly sorted); entries
  // whose future was released already are skipped.
  std::deque<Ended> ended_ ABSL_GUARDED_BY(mu_);
  // The last kRecentCapacity futures inserted, a ring written at
  // recent_count_ % kRecentCapacity: Insert() pays one pointer store. Weak,
  // so that it keeps no released future alive.
  std::vector<std::weak_ptr<Future>> recent_ ABSL_GUARDED_BY(mu_);
  uint64_t recent_count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_ENGINE_FUTURE_TABLE_H_
