#include "server/engine/remote_futures.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace futured::server {
namespace {

absl::Status NotFound(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("future ", id, " not found"));
}

// Brings `mirror` to where `row` says its future is.
void Update(Future& mirror, JournaledFuture& row) {
  if (mirror.done()) return;
  const bool pending = mirror.state() == FutureState::kPending;
  if (!row.ending) {
    if (row.state == FutureState::kRunning && pending && row.start_time) {
      mirror.Start(*row.start_time, row.worker_pid);
    }
    return;
  }
  FutureEnding& ending = *row.ending;
  if (IsCancelled(ending.outcome) && !ending.start_time) {
    mirror.Cancel(ending.end_time);
    return;
  }
  if (pending && ending.start_time) {
    mirror.Start(*ending.start_time, row.worker_pid);
  }
  mirror.Finish(std::move(ending.outcome), ending.end_time);
}

}  // namespace

void RemoteFutures::Locate(std::vector<std::string> ids, std::string principal,
                           Owned owned) {
  std::vector<std::string> wanted = ids;
  bus_->Read(
      std::move(wanted),
      [ids = std::move(ids), principal = std::move(principal),
       owned = std::move(owned)](
          absl::StatusOr<std::vector<Located>> rows) mutable {
        if (!rows.ok()) return std::move(owned)(rows.status());
        std::vector<Located> ordered;
        for (const std::string& id : ids) {
          auto row = std::find_if(
              rows->begin(), rows->end(),
              [&](const Located& l) { return l.future.call.id == id; });
          // Another principal's future is not found, as locally.
          if (row == rows->end() || row->future.call.principal != principal) {
            return std::move(owned)(NotFound(id));
          }
          ordered.push_back(std::move(*row));
        }
        std::move(owned)(std::move(ordered));
      });
}

std::shared_ptr<Future> RemoteFutures::MirrorOf(Located& located,
                                                uint64_t generation) {
  const AcceptedCall& call = located.future.call;
  std::shared_ptr<Future> mirror;
  bool stale = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = mirrors_.find(call.id);
    if (it != mirrors_.end()) mirror = it->second.future.lock();
    if (mirror == nullptr) {
      mirror = std::make_shared<Future>(call.id, call.function, call.pool,
                                        call.submit_time, call.deadline);
      mirrors_[call.id] = Mirror{mirror, call.principal};
    }
    stale = generation != generation_;
  }
  Update(*mirror, located.future);
  if (stale && !mirror->done()) Refresh({call.id});
  return mirror;
}

void RemoteFutures::Find(std::vector<std::string> ids, std::string principal,
                         Found found) {
  uint64_t generation;
  {
    absl::MutexLock lock(&mu_);
    generation = generation_;
  }
  Locate(std::move(ids), std::move(principal),
         [this, generation, found = std::move(found)](
             absl::StatusOr<std::vector<Located>> rows) mutable {
           if (!rows.ok()) return std::move(found)(rows.status());
           std::vector<std::shared_ptr<Future>> mirrors;
           for (Located& row : *rows) {
             mirrors.push_back(MirrorOf(row, generation));
           }
           std::move(found)(std::move(mirrors));
         });
}

void RemoteFutures::Cancel(std::string id, std::string principal,
                           bool only_if_pending, Cancelled cancelled) {
  uint64_t generation;
  {
    absl::MutexLock lock(&mu_);
    generation = generation_;
  }
  Locate({id}, principal,
         [this, id, principal, only_if_pending, generation,
          cancelled = std::move(cancelled)](
             absl::StatusOr<std::vector<Located>> rows) mutable {
           if (!rows.ok()) return std::move(cancelled)(rows.status());
           Located& row = rows->front();
           std::shared_ptr<Future> mirror = MirrorOf(row, generation);
           if (mirror->done()) {
             return std::move(cancelled)(
                 std::pair(CancelAction::kAlreadyDone, std::move(mirror)));
           }
           bus_->Send(row.node,
                      {.future_id = id,
                       .principal = principal,
                       .kind = only_if_pending
                                   ? PostgresBus::RequestKind::kCancelIfPending
                                   : PostgresBus::RequestKind::kCancel},
                      [mirror, cancelled = std::move(cancelled)](
                          absl::StatusOr<int64_t> action) mutable {
                        if (!action.ok()) {
                          return std::move(cancelled)(action.status());
                        }
                        std::move(cancelled)(std::pair(
                            static_cast<CancelAction>(*action), mirror));
                      });
         });
}

void RemoteFutures::Release(std::vector<std::string> ids, std::string principal,
                            Released released) {
  Locate(std::move(ids), principal,
         [this, principal, released = std::move(released)](
             absl::StatusOr<std::vector<Located>> rows) mutable {
           if (!rows.ok()) return std::move(released)(rows.status());
           for (const Located& row : *rows) {
             if (row.future.state != FutureState::kFinished &&
                 row.future.state != FutureState::kCancelled) {
               return std::move(released)(absl::FailedPreconditionError(
                   absl::StrCat("future ", row.future.call.id, " is ",
                                FutureStateName(row.future.state),
                                "; only done futures can be released (cancel "
                                "it first)")));
             }
           }
           // One request per future; answered once every one is.
           struct Tally {
             absl::Mutex mu;
             size_t left ABSL_GUARDED_BY(mu);
             int64_t released ABSL_GUARDED_BY(mu) = 0;
             absl::Status error ABSL_GUARDED_BY(mu);
             Released done;
           };
           auto tally = std::make_shared<Tally>();
           tally->left = rows->size();
           tally->done = std::move(released);
           if (rows->empty()) return std::move(tally->done)(int64_t{0});
           for (const Located& row : *rows) {
             bus_->Send(row.node,
                        {.future_id = row.future.call.id,
                         .principal = principal,
                         .kind = PostgresBus::RequestKind::kRelease},
                        [tally](absl::StatusOr<int64_t> count) {
                          absl::StatusOr<int64_t> total;
                          {
                            absl::MutexLock lock(&tally->mu);
                            if (count.ok()) {
                              tally->released += *count;
                            } else if (tally->error.ok()) {
                              tally->error = count.status();
                            }
                            if (--tally->left > 0) return;
                            total =
                                tally->error.ok()
                                    ? absl::StatusOr<int64_t>(tally->released)
                                    : tally->error;
                          }
                          std::move(tally->done)(std::move(total));
                        });
           }
         });
}

void RemoteFutures::Follow(std::string id, Ended ended) {
  {
    absl::MutexLock lock(&mu_);
    followed_[id] = std::move(ended);
  }
  // Followed first: an end from now on reads it again.
  RefreshFollowed({std::move(id)});
}

void RemoteFutures::RefreshFollowed(std::vector<std::string> ids) {
  std::vector<std::string> wanted = ids;
  bus_->Read(std::move(wanted), [this, ids = std::move(ids)](
                                    absl::StatusOr<std::vector<Located>> rows) {
    if (!rows.ok()) return;  // read again at the next poll
    for (const std::string& id : ids) {
      auto row = std::find_if(
          rows->begin(), rows->end(),
          [&](const Located& l) { return l.future.call.id == id; });
      if (row != rows->end() && !row->future.ending) continue;
      Ended ended;
      {
        absl::MutexLock lock(&mu_);
        auto it = followed_.find(id);
        if (it == followed_.end()) continue;
        ended = std::move(it->second);
        followed_.erase(it);
      }
      if (row == rows->end()) {
        std::move(ended)(
            FutureState::kFinished,
            FutureEnding{.outcome = TaskError{.type = "FutureLostError",
                                              .message = absl::StrCat(
                                                  "future ", id,
                                                  " ran on another node and "
                                                  "is gone from the cluster")},
                         .end_time = absl::Now()},
            0);
        continue;
      }
      const FutureState state = row->future.state;
      std::move(ended)(state, *std::move(row->future.ending),
                       row->future.worker_pid);
    }
  });
}

void RemoteFutures::OnEnded(const std::vector<std::string>& ids) {
  std::vector<std::string> live;
  std::vector<std::string> followed;
  {
    absl::MutexLock lock(&mu_);
    ++generation_;
    if (ids.empty()) {
      for (const auto& [id, ended] : followed_) followed.push_back(id);
    }
    for (const std::string& id : ids) {
      if (followed_.contains(id)) followed.push_back(id);
    }
    if (ids.empty()) {
      for (auto it = mirrors_.begin(); it != mirrors_.end();) {
        std::shared_ptr<Future> mirror = it->second.future.lock();
        if (mirror == nullptr || mirror->done()) {
          mirrors_.erase(it++);
          continue;
        }
        live.push_back(it->first);
        ++it;
      }
    } else {
      for (const std::string& id : ids) {
        auto it = mirrors_.find(id);
        if (it != mirrors_.end()) live.push_back(id);
      }
    }
  }
  if (!live.empty()) Refresh(std::move(live));
  if (!followed.empty()) RefreshFollowed(std::move(followed));
}

void RemoteFutures::Refresh(std::vector<std::string> ids) {
  bus_->Read(std::move(ids), [this](absl::StatusOr<std::vector<Located>> rows) {
    if (!rows.ok()) return;  // read again at the next poll
    for (Located& row : *rows) {
      std::shared_ptr<Future> mirror;
      {
        absl::MutexLock lock(&mu_);
        auto it = mirrors_.find(row.future.call.id);
        if (it == mirrors_.end()) continue;
        mirror = it->second.future.lock();
        if (mirror == nullptr) {
          mirrors_.erase(it);
          continue;
        }
      }
      Update(*mirror, row.future);
    }
  });
}

int64_t RemoteFutures::size() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(mirrors_.size());
}

}  // namespace futured::server
