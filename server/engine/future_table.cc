#include "server/engine/future_table.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace futured::server {

FutureTable::FutureTable(absl::Duration retention)
    : retention_(retention), recent_(kRecentCapacity) {}

namespace {

absl::Status NotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("future ", id, " not found"));
}

}  // namespace

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
    const std::string* interned = &*owners_.emplace(owner).first;
    const absl::string_view key = future->id();
    recent_[recent_count_++ % kRecentCapacity] = future;
    futures_.emplace(key,
                     Entry{.future = std::move(future), .owner = interned});
  }
  raw->AddDoneCallback([this, raw] { OnDone(*raw); });
}

void FutureTable::OnDone(const Future& future) {
  Ended ended{.end_time = future.end_time().value_or(absl::Now()),
              .id = {},
              .id_size = static_cast<uint8_t>(future.id().size())};
  std::memcpy(ended.id.data(), future.id().data(), ended.id_size);
  absl::MutexLock lock(&mu_);
  ended_.push_back(ended);
}

const FutureTable::Entry* FutureTable::FindOwned(
    absl::string_view id, absl::string_view owner) const {
  auto it = futures_.find(id);
  if (it == futures_.end() || *it->second.owner != owner) return nullptr;
  return &it->second;
}

std::vector<std::shared_ptr<Future>> FutureTable::Recent(
    std::optional<absl::string_view> owner) const {
  std::vector<std::shared_ptr<Future>> recent;
  absl::MutexLock lock(&mu_);
  const uint64_t count = std::min<uint64_t>(recent_count_, kRecentCapacity);
  recent.reserve(count);
  for (uint64_t i = 1; i <= count; ++i) {
    std::shared_ptr<Future> future =
        recent_[(recent_count_ - i) % kRecentCapacity].lock();
    if (future == nullptr) continue;
    auto it = futures_.find(future->id());
    if (it == futures_.end() || it->second.future != future) continue;
    if (owner.has_value() && *it->second.owner != *owner) continue;
    recent.push_back(std::move(future));
  }
  return recent;
}

absl::StatusOr<std::shared_ptr<Future>> FutureTable::FindForViewer(
    absl::string_view id, std::optional<absl::string_view> owner) const {
  if (owner.has_value()) return Find(id, *owner);
  absl::MutexLock lock(&mu_);
  auto it = futures_.find(id);
  if (it == futures_.end()) return NotFound(id);
  return it->second.future;
}

absl::StatusOr<std::shared_ptr<Future>> FutureTable::Find(
    absl::string_view id, absl::string_view owner) const {
  absl::MutexLock lock(&mu_);
  const Entry* entry = FindOwned(id, owner);
  if (entry == nullptr) return NotFound(id);
  return entry->future;
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
    const Entry* entry = FindOwned(id, owner);
    if (entry == nullptr) return NotFound(id);
    if (!entry->future->done()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "future ", id, " is ", FutureStateName(entry->future->state()),
          "; only done futures can be released (cancel it first)"));
    }
  }
  int64_t released = 0;
  for (const std::string& id : ids) released += futures_.erase(id);
  return released;
}

std::vector<std::shared_ptr<Future>> FutureTable::ExpireFinished(
    absl::Time now) {
  std::vector<std::shared_ptr<Future>> removed;
  absl::MutexLock lock(&mu_);
  while (!ended_.empty() && ended_.front().end_time + retention_ <= now) {
    auto it = futures_.find(ended_.front().view());
    if (it != futures_.end()) {
      removed.push_back(std::move(it->second.future));
      futures_.erase(it);
    }
    ended_.pop_front();
  }
  return removed;
}

int64_t FutureTable::size() const {
  absl::MutexLock lock(&mu_);
  return futures_.size();
}

}  // namespace futured::server
