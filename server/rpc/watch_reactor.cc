#include "server/rpc/watch_reactor.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/future_id.h"
#include "server/rpc/proto_convert.h"

namespace futured::server::rpc {

WatchReactor::WatchReactor(WaitDeps deps, const Engine* engine, int64_t max_ids,
                           std::string principal)
    : StreamingReactor(deps),
      engine_(engine),
      principal_(std::move(principal)),
      max_ids_(max_ids) {
  if (!Register()) return;
  StartRead(&request_);
  EndSetup();
}

void WatchReactor::OnReadDone(bool ok) {
  if (!ok) {  // the client half-closed, or the call is over
    WithLock([](WatchReactor& r) {
      r.reads_done_ = true;
      r.Pump();
    });
    return;
  }
  if (request_.ids_size() > max_ids_) {
    WithLock([this](WatchReactor& r) {
      r.RequestFinish(grpc::Status(
          grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat(request_.ids_size(),
                       " ids in one WatchRequest; at most ", max_ids_,
                       " allowed (--max_ids_per_call)")));
    });
    return;
  }
  FollowRequested();
  StartRead(&request_);
}

void WatchReactor::FollowRequested() {
  // An ID named twice in one request is followed once, even when its future
  // is done (and so no longer in pending_) by the time the second is read.
  absl::flat_hash_set<absl::string_view> named;
  for (const std::string& id : request_.ids()) {
    if (!named.insert(id).second) continue;
    absl::Status status = ValidateFutureId(id);
    absl::StatusOr<std::shared_ptr<Future>> future =
        status.ok() ? engine_->Find(id, principal_) : status;
    if (absl::IsNotFound(future.status()) && engine_->elsewhere() != nullptr) {
      FollowElsewhere(id);
    } else {
      FollowFound(id, std::move(future), /*mirror=*/false);
    }
  }
}

void WatchReactor::FollowFound(const std::string& id,
                               absl::StatusOr<std::shared_ptr<Future>> future,
                               bool mirror) {
  bool follow = false;
  WithLock([&](WatchReactor& r) {
    if (!future.ok()) {
      v1::WatchError& error = r.errors_.emplace_back();
      error.set_id(id);
      error.set_code(static_cast<int>(future.status().code()));
      error.set_message(std::string(future.status().message()));
      r.Pump();
      return;
    }
    follow = r.pending_.insert(id).second;
    if (follow && mirror) r.mirrors_.emplace(id, *future);
  });
  if (!follow) return;
  Follow(*future, [f = future->get()](WatchReactor& r) {
    r.pending_.erase(f->id());
    r.mirrors_.erase(f->id());
    r.ready_.push_back(f->Snapshot());
    r.Pump();
  });
}

void WatchReactor::FollowElsewhere(const std::string& id) {
  WithLock([](WatchReactor& r) { ++r.lookups_; });
  engine_->FindAnywhere(
      {id}, principal_,
      [this, id](absl::StatusOr<std::vector<std::shared_ptr<Future>>> found) {
        // lookups_ keeps the reactor until the end of this callback.
        FollowFound(id,
                    found.ok() ? absl::StatusOr<std::shared_ptr<Future>>(
                                     std::move(found->front()))
                               : found.status(),
                    /*mirror=*/true);
        WithLock([](WatchReactor& r) {
          --r.lookups_;
          r.Pump();
        });
      });
}

void WatchReactor::FillNext(v1::WatchResponse* message) {
  while (!errors_.empty() && message->errors_size() < kMaxBatch) {
    *message->add_errors() = std::move(errors_.front());
    errors_.pop_front();
  }
  while (!ready_.empty() && message->futures_size() < kMaxBatch) {
    ToProto(ready_.front(), message->add_futures());
    ready_.pop_front();
  }
}

}  // namespace futured::server::rpc
