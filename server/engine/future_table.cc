#include "server/engine/future_table.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"

namespace futured::server {

FutureTable::InlineId::InlineId(absl::string_view id)
    : size(static_cast<uint8_t>(id.size())) {
  std::memcpy(bytes.data(), id.data(), id.size());
}

FutureTable::FutureTable(absl::Duration retention, Loader load)
    : retention_(retention), load_(std::move(load)), recent_(kRecentCapacity) {}

namespace {

absl::Status NotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("future ", id, " not found"));
}

}  // namespace

const std::string* FutureTable::InternLocked(absl::string_view owner) {
  if (last_owner_ == nullptr || *last_owner_ != owner) {
    last_owner_ = &*owners_.emplace(owner).first;
  }
  return last_owner_;
}

void FutureTable::Insert(std::shared_ptr<Future> future,
                         absl::string_view owner) {
  if (future->id().size() > kMaxIdSize) {
    std::fprintf(stderr, "FutureTable: id '%s' is longer than %zu bytes\n",
                 future->id().c_str(), kMaxIdSize);
    std::abort();
  }
  Future* raw = future.get();
  {
    absl::MutexLock lock(&mu_);
    const std::string* interned = InternLocked(owner);
    const absl::string_view key = future->id();
    recent_[recent_count_++ % kRecentCapacity] = InlineId(key);
    futures_.emplace(key,
                     Entry{.future = std::move(future), .owner = interned});
  }
  raw->AddDoneCallback([this, raw] { OnDone(*raw); });
}

bool FutureTable::InsertOnDisk(absl::string_view id, absl::string_view owner,
                               absl::Time end_time) {
  if (id.size() > kMaxIdSize) return false;
  const InlineId inline_id(id);
  absl::MutexLock lock(&mu_);
  if (on_disk_sorted_ && !on_disk_.empty() && on_disk_.back().id.view() > id) {
    on_disk_sorted_ = false;
  }
  on_disk_.push_back(OnDisk{.id = inline_id, .owner = InternLocked(owner)});
  ++on_disk_left_;
  ended_.push_back(Ended{.end_time = end_time, .id = inline_id});
  recent_[recent_count_++ % kRecentCapacity] = inline_id;
  return true;
}

void FutureTable::OnDone(const Future& future) {
  const Ended ended{.end_time = future.end_time().value_or(absl::Now()),
                    .id = InlineId(future.id())};
  absl::MutexLock lock(&mu_);
  ended_.push_back(ended);
}

const FutureTable::Entry* FutureTable::FindOwned(
    absl::string_view id, absl::string_view owner) const {
  auto it = futures_.find(id);
  if (it == futures_.end() || *it->second.owner != owner) return nullptr;
  return &it->second;
}

FutureTable::OnDisk* FutureTable::FindOnDiskLocked(absl::string_view id) const {
  if (on_disk_left_ == 0) return nullptr;
  const auto by_id = [](const OnDisk& a, const OnDisk& b) {
    return a.id.view() < b.id.view();
  };
  if (!on_disk_sorted_) {
    std::sort(on_disk_.begin(), on_disk_.end(), by_id);
    on_disk_sorted_ = true;
  }
  auto it = std::lower_bound(
      on_disk_.begin(), on_disk_.end(), id,
      [](const OnDisk& a, absl::string_view b) { return a.id.view() < b; });
  if (it == on_disk_.end() || it->id.view() != id || it->owner == nullptr) {
    return nullptr;
  }
  return &*it;
}

void FutureTable::DropOnDiskLocked(OnDisk& on_disk) const {
  on_disk.owner = nullptr;
  if (--on_disk_left_ == 0) std::deque<OnDisk>().swap(on_disk_);
}

absl::StatusOr<std::shared_ptr<Future>> FutureTable::Lookup(
    absl::string_view id, std::optional<absl::string_view> owner) const {
  {
    absl::MutexLock lock(&mu_);
    auto it = futures_.find(id);
    if (it != futures_.end()) {
      if (owner.has_value() && *it->second.owner != *owner) {
        return NotFound(id);
      }
      return it->second.future;
    }
    const OnDisk* on_disk = FindOnDiskLocked(id);
    if (on_disk == nullptr ||
        (owner.has_value() && *on_disk->owner != *owner)) {
      return NotFound(id);
    }
  }
  return Load(id);
}

absl::StatusOr<std::shared_ptr<Future>> FutureTable::Load(
    absl::string_view id) const {
  absl::StatusOr<std::shared_ptr<Future>> loaded =
      load_ ? load_(id)
            : absl::InternalError(absl::StrCat(
                  "future ", id, " is on disk and no loader was given"));
  if (loaded.ok() && (*loaded)->id() != id) {
    loaded = absl::InternalError(
        absl::StrCat("loading future ", id, " made ", (*loaded)->id()));
  }
  // Declared before the lock, so that a future that lost to another
  // lookup's is destroyed after it.
  std::shared_ptr<Future> lost;
  absl::MutexLock lock(&mu_);
  if (auto it = futures_.find(id); it != futures_.end()) {
    if (loaded.ok()) lost = *std::move(loaded);
    return it->second.future;
  }
  OnDisk* on_disk = FindOnDiskLocked(id);
  if (on_disk == nullptr) return NotFound(id);  // released or expired
  if (!loaded.ok()) return loaded.status();
  // Its element of ended_ is there already: no done-callback.
  futures_.emplace((*loaded)->id(),
                   Entry{.future = *loaded, .owner = on_disk->owner});
  DropOnDiskLocked(*on_disk);
  return loaded;
}

std::vector<std::shared_ptr<Future>> FutureTable::Recent(
    std::optional<absl::string_view> owner) const {
  // A future, or the ID of one on disk, to load once the lock is released.
  std::vector<std::variant<std::shared_ptr<Future>, std::string>> listed;
  {
    absl::MutexLock lock(&mu_);
    const uint64_t count = std::min<uint64_t>(recent_count_, kRecentCapacity);
    listed.reserve(count);
    for (uint64_t i = 1; i <= count; ++i) {
      const absl::string_view id =
          recent_[(recent_count_ - i) % kRecentCapacity].view();
      if (auto it = futures_.find(id); it != futures_.end()) {
        if (!owner.has_value() || *it->second.owner == *owner) {
          listed.emplace_back(it->second.future);
        }
      } else if (const OnDisk* on_disk = FindOnDiskLocked(id);
                 on_disk != nullptr &&
                 (!owner.has_value() || *on_disk->owner == *owner)) {
        listed.emplace_back(std::string(id));
      }
    }
  }
  std::vector<std::shared_ptr<Future>> recent;
  recent.reserve(listed.size());
  for (auto& item : listed) {
    if (auto* future = std::get_if<std::shared_ptr<Future>>(&item)) {
      recent.push_back(std::move(*future));
    } else if (absl::StatusOr<std::shared_ptr<Future>> loaded =
                   Load(std::get<std::string>(item));
               loaded.ok()) {
      recent.push_back(*std::move(loaded));
    }
  }
  return recent;
}

absl::StatusOr<std::shared_ptr<Future>> FutureTable::FindForViewer(
    absl::string_view id, std::optional<absl::string_view> owner) const {
  return Lookup(id, owner);
}

absl::StatusOr<std::shared_ptr<Future>> FutureTable::Find(
    absl::string_view id, absl::string_view owner) const {
  return Lookup(id, owner);
}

void FutureTable::Remove(absl::string_view id) {
  std::shared_ptr<Future> removed;  // destroyed outside the lock
  absl::MutexLock lock(&mu_);
  auto it = futures_.find(id);
  if (it == futures_.end()) return;
  removed = std::move(it->second.future);
  futures_.erase(it);
}

absl::StatusOr<int64_t> FutureTable::Release(absl::Span<const std::string> ids,
                                             absl::string_view owner) {
  absl::MutexLock lock(&mu_);
  for (const std::string& id : ids) {
    if (const Entry* entry = FindOwned(id, owner); entry != nullptr) {
      if (!entry->future->done()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "future ", id, " is ", FutureStateName(entry->future->state()),
            "; only done futures can be released (cancel it first)"));
      }
      continue;
    }
    // One on disk is done.
    const OnDisk* on_disk = FindOnDiskLocked(id);
    if (on_disk == nullptr || *on_disk->owner != owner) return NotFound(id);
  }
  int64_t released = 0;
  for (const std::string& id : ids) {
    if (futures_.erase(id) > 0) {
      ++released;
    } else if (OnDisk* on_disk = FindOnDiskLocked(id); on_disk != nullptr) {
      DropOnDiskLocked(*on_disk);
      ++released;
    }
  }
  return released;
}

std::vector<std::string> FutureTable::ExpireFinished(absl::Time now) {
  std::vector<std::shared_ptr<Future>> removed;  // destroyed after the lock
  std::vector<std::string> ids;
  absl::MutexLock lock(&mu_);
  while (!ended_.empty() && ended_.front().end_time + retention_ <= now) {
    const absl::string_view id = ended_.front().id.view();
    if (auto it = futures_.find(id); it != futures_.end()) {
      ids.emplace_back(id);
      removed.push_back(std::move(it->second.future));
      futures_.erase(it);
    } else if (OnDisk* on_disk = FindOnDiskLocked(id); on_disk != nullptr) {
      ids.emplace_back(id);
      DropOnDiskLocked(*on_disk);
    }
    ended_.pop_front();
  }
  return ids;
}

int64_t FutureTable::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(futures_.size()) + on_disk_left_;
}

}  // namespace futured::server
