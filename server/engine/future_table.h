// The daemon's futures by ID, kept until released or expired.
#ifndef FUTURED_SERVER_ENGINE_FUTURE_TABLE_H_
#define FUTURED_SERVER_ENGINE_FUTURE_TABLE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
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
//
// A done future recovered from a journal may be kept on disk instead
// (InsertOnDisk()): the table holds its ID, owner and end time only, and
// `load` makes the future from the journal the first time a lookup needs
// it (Find(), FindForViewer(), Recent()); from then on it is an entry like
// any other. One on disk is counted, found, released and expired like any
// other too. They are kept apart, sorted by ID and searched by bisection:
// a journal brings back a million of them, in the order of their IDs, much
// faster than a hash table takes them, in less memory.
class FutureTable {
 public:
  static constexpr size_t kMaxIdSize = 36;

  // Makes the future `id` that InsertOnDisk() left on disk; called with no
  // lock held, from the thread of the lookup that needs it.
  using Loader = std::function<absl::StatusOr<std::shared_ptr<Future>>(
      absl::string_view id)>;

  // `load` may be null when InsertOnDisk() is never called.
  explicit FutureTable(absl::Duration retention, Loader load = nullptr);
  FutureTable(const FutureTable&) = delete;
  FutureTable& operator=(const FutureTable&) = delete;

  // Adds `future`, owned by `owner` ("" is the anonymous principal). Its ID
  // must be new and at most kMaxIdSize bytes (a longer one is a programming
  // error: the process aborts).
  void Insert(std::shared_ptr<Future> future, absl::string_view owner)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Adds the done future `id`, owned by `owner`, that ended at `end_time`,
  // without the future itself: the loader makes it when it is looked up.
  // Its ID must be new. False (nothing added) for an ID over kMaxIdSize
  // bytes: such a future must be Insert()ed whole. Cheapest when IDs come
  // in ascending order (as a journal returns NewFutureId's).
  bool InsertOnDisk(absl::string_view id, absl::string_view owner,
                    absl::Time end_time) ABSL_LOCKS_EXCLUDED(mu_);

  // The future `id` if `owner` owns it. NOT_FOUND for an ID not in the table
  // (never made, released or expired) or owned by another principal: the
  // same message either way. For an entry on disk, the loader's error if it
  // fails (the entry stays, to be loaded by a later lookup).
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

  // Removes done futures that ended at least `retention` before `now`,
  // those on disk too. Returns their IDs, so that the caller can forget
  // what it knows of them (the futures are destroyed outside the lock).
  std::vector<std::string> ExpireFinished(absl::Time now)
      ABSL_LOCKS_EXCLUDED(mu_);

  int64_t size() const ABSL_LOCKS_EXCLUDED(mu_);

  // For the dashboard. The futures still in the table among the last
  // kRecentCapacity inserted, newest first, owned by `owner` (nullopt: by
  // anyone). Holds the lock for one pass over those kRecentCapacity slots;
  // loads those on disk after it (one that fails to load is left out).
  static constexpr size_t kRecentCapacity = 1024;
  std::vector<std::shared_ptr<Future>> Recent(
      std::optional<absl::string_view> owner) const ABSL_LOCKS_EXCLUDED(mu_);

  // Find() for a viewer who may see every owner's futures (nullopt).
  absl::StatusOr<std::shared_ptr<Future>> FindForViewer(
      absl::string_view id, std::optional<absl::string_view> owner) const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // An ID of at most kMaxIdSize bytes, inline.
  struct InlineId {
    std::array<char, kMaxIdSize> bytes;
    uint8_t size = 0;

    InlineId() = default;
    // `id` must be at most kMaxIdSize bytes.
    explicit InlineId(absl::string_view id);
    absl::string_view view() const { return {bytes.data(), size}; }
  };

  // A done future's ID and when it ended.
  struct Ended {
    absl::Time end_time;
    InlineId id;
  };

  struct Entry {
    std::shared_ptr<Future> future;
    const std::string* owner;  // an element of owners_
  };

  // A future on disk (InsertOnDisk()). Its owner is null once it is gone:
  // loaded (it has an Entry then), released or expired.
  struct OnDisk {
    InlineId id;
    const std::string* owner;
  };

  void OnDone(const Future& future) ABSL_LOCKS_EXCLUDED(mu_);
  // The interned copy of `owner`.
  const std::string* InternLocked(absl::string_view owner)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The entry of `id` if `owner` owns it, else null.
  const Entry* FindOwned(absl::string_view id, absl::string_view owner) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The future `id` on disk if it is not gone, else null.
  OnDisk* FindOnDiskLocked(absl::string_view id) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks `on_disk` gone.
  void DropOnDiskLocked(OnDisk& on_disk) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The future `id`, whole or on disk, if `owner` owns it (nullopt: anyone):
  // Find() and FindForViewer().
  absl::StatusOr<std::shared_ptr<Future>> Lookup(
      absl::string_view id, std::optional<absl::string_view> owner) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // Loads the future `id` on disk and makes it an entry; if another lookup
  // did first, that one's. NOT_FOUND if it went meanwhile.
  absl::StatusOr<std::shared_ptr<Future>> Load(absl::string_view id) const
      ABSL_LOCKS_EXCLUDED(mu_);

  const absl::Duration retention_;
  const Loader load_;

  mutable absl::Mutex mu_;
  // Keyed by a view of the value's id(), which lives as long as the entry.
  // Mutable, as on_disk_: a lookup turns a future on disk into an entry.
  mutable absl::flat_hash_map<absl::string_view, Entry> futures_
      ABSL_GUARDED_BY(mu_);
  // Every owner seen; node-based, so entries' pointers stay valid.
  absl::node_hash_set<std::string> owners_ ABSL_GUARDED_BY(mu_);
  const std::string* last_owner_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Futures on disk, sorted by ID once on_disk_sorted_; those gone stay
  // until none is left (`on_disk_left_` counts the others), then they are
  // freed. A deque: it grows without copying what it holds.
  mutable std::deque<OnDisk> on_disk_ ABSL_GUARDED_BY(mu_);
  mutable bool on_disk_sorted_ ABSL_GUARDED_BY(mu_) = true;
  mutable int64_t on_disk_left_ ABSL_GUARDED_BY(mu_) = 0;
  // Done futures in the order they ended (end times nearly sorted); entries
  // whose future was released already are skipped.
  std::deque<Ended> ended_ ABSL_GUARDED_BY(mu_);
  // The IDs of the last kRecentCapacity futures inserted, a ring written
  // at recent_count_ % kRecentCapacity: Insert() copies one ID.
  std::vector<InlineId> recent_ ABSL_GUARDED_BY(mu_);
  uint64_t recent_count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_ENGINE_FUTURE_TABLE_H_
