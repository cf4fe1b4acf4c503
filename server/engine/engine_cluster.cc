// The engine in a cluster: AdoptLostNodes() takes over the futures of a node
// whose lease lapsed, and ClaimIdleWork() the pending futures of busy nodes,
// through the same path as Recover(); HandOver() lets go of a future claimed
// away; LookUpElsewhere() reads another node's future; ServeCluster()
// answers other nodes' requests.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/engine/engine.h"

namespace futured::server {
namespace {

absl::Status NotFound(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("future ", id, " not found"));
}

// A journaled future as a snapshot, without a future to keep.
FutureSnapshot SnapshotOf(JournaledFuture& journaled) {
  const AcceptedCall& call = journaled.call;
  auto future = std::make_shared<Future>(call.id, call.function, call.pool,
                                         call.submit_time, call.deadline);
  if (journaled.start_time) {
    future->Start(*journaled.start_time, journaled.worker_pid);
  }
  if (journaled.ending) {
    FutureEnding& ending = *journaled.ending;
    if (IsCancelled(ending.outcome) && !ending.start_time) {
      future->Cancel(ending.end_time);
    } else {
      future->Finish(std::move(ending.outcome), ending.end_time);
    }
  }
  return future->Snapshot();
}

}  // namespace

void Engine::LookUpElsewhere(std::string id, std::string principal,
                             LookedUp looked_up) const {
  if (journal_ == nullptr) {
    std::move(looked_up)(NotFound(id));
    return;
  }
  journal_->LookUp(
      id,
      [id, principal = std::move(principal), looked_up = std::move(looked_up)](
          absl::StatusOr<std::optional<JournaledFuture>> found) mutable {
        if (!found.ok()) return std::move(looked_up)(found.status());
        // Another principal's future is not found, as in Find().
        if (!found->has_value() || (*found)->call.principal != principal) {
          return std::move(looked_up)(NotFound(id));
        }
        std::move(looked_up)(SnapshotOf(**found));
      });
}

void Engine::AdoptLostNodes(AdoptionReport report) {
  if (journal_ == nullptr) return;
  // The journal calls back on its writer's thread, which Shutdown() joins
  // (Journal::Close()) before the engine goes.
  journal_->OnAdopt([this, report = std::move(report)](
                        const std::string& node,
                        std::vector<JournaledFuture> futures) mutable {
    // Moved to this node already: if it is stopping, they stay journaled as
    // its own, and the node that adopts them next takes them up.
    if (stopping_->load()) return;
    const RecoveryCounts counts =
        Restore(futures, Interruption{.type = "NodeLostError",
                                      .what = absl::StrCat("node ", node)});
    if (report) report(node, counts);
  });
}

void Engine::ClaimIdleWork(ClaimReport report) {
  if (journal_ == nullptr) return;
  // The journal calls back on its writer's thread, which Shutdown() joins
  // (Journal::Close()) before the engine goes.
  journal_->OnClaim(
      [this] { return RoomForClaims(); },
      [this, report = std::move(report)](
          std::vector<JournaledFuture> futures) mutable {
        // Moved to this node already: if it is stopping, they stay
        // journaled as its own, pending, for whichever node takes them next.
        if (stopping_->load()) return;
        // Never started (claims take PENDING first attempts only): no
        // interruption applies.
        const RecoveryCounts counts = Restore(
            futures, Interruption{.type = "NodeLostError", .what = "a node"});
        if (report) report(counts);
      });
}

Journal::ClaimRoom Engine::RoomForClaims() const {
  Journal::ClaimRoom room;
  if (stopping_->load()) return room;
  for (const auto& [name, pool] : pools_) {
    const PoolStats stats = pool->Stats();
    const int64_t idle = stats.workers - stats.running;
    if (stats.queued > 0 || idle <= 0) continue;
    room.pools.push_back(name);
    room.count += static_cast<int>(2 * idle);
  }
  if (room.count > 0) {
    for (const TaskSpec* spec : registry_->List()) {
      room.functions.push_back(spec->name);
    }
  }
  return room;
}

void Engine::HandOver(Future& future) {
  std::weak_ptr<Future> held;
  if (absl::StatusOr<std::shared_ptr<Future>> found =
          table_.FindForViewer(future.id(), std::nullopt);
      found.ok()) {
    held = *found;
  }
  table_.Remove(future.id());
  requests_.Forget(future.id());
  future.SetEndHook([remote = remote_.get(), held, id = future.id()](
                        FutureState, FutureEnding) {
    auto show = [held](FutureState state, FutureEnding ending, int pid) {
      if (std::shared_ptr<Future> f = held.lock()) {
        f->PublishInstead(state, std::move(ending), pid);
      }
    };
    if (remote != nullptr) return remote->Follow(id, std::move(show));
    // A node without a bus cannot follow it.
    show(FutureState::kFinished,
         FutureEnding{.outcome = TaskError{.type = "FutureLostError",
                                           .message = absl::StrCat(
                                               "future ", id,
                                               " was claimed by another node")},
                      .end_time = absl::Now()},
         0);
  });
  // Held back by the hook above; its pool skips it as a cancelled one.
  future.Cancel(absl::Now());
}

void Engine::FindAnywhere(std::vector<std::string> ids, std::string principal,
                          RemoteFutures::Found found) const {
  std::vector<std::shared_ptr<Future>> futures;
  std::vector<std::string> elsewhere;
  std::vector<size_t> slots;  // of those in `futures`
  for (const std::string& id : ids) {
    absl::StatusOr<std::shared_ptr<Future>> future = Find(id, principal);
    if (!future.ok() &&
        (!absl::IsNotFound(future.status()) || remote_ == nullptr)) {
      return std::move(found)(future.status());
    }
    if (!future.ok()) {
      elsewhere.push_back(id);
      slots.push_back(futures.size());
    }
    futures.push_back(future.ok() ? *std::move(future) : nullptr);
  }
  if (elsewhere.empty()) return std::move(found)(std::move(futures));
  remote_->Find(std::move(elsewhere), std::move(principal),
                [futures = std::move(futures), slots = std::move(slots),
                 found = std::move(found)](
                    absl::StatusOr<std::vector<std::shared_ptr<Future>>>
                        mirrors) mutable {
                  if (!mirrors.ok()) return std::move(found)(mirrors.status());
                  for (size_t i = 0; i < slots.size(); ++i) {
                    futures[slots[i]] = std::move((*mirrors)[i]);
                  }
                  std::move(found)(std::move(futures));
                });
}

void Engine::ReleaseAnywhere(std::vector<std::string> ids,
                             std::string principal,
                             RemoteFutures::Released released) {
  std::vector<std::string> here, elsewhere;
  absl::Status not_done;  // the first of this node's that is not done
  for (const std::string& id : ids) {
    absl::StatusOr<std::shared_ptr<Future>> future = Find(id, principal);
    if (remote_ != nullptr && absl::IsNotFound(future.status())) {
      elsewhere.push_back(id);
      continue;
    }
    if (future.ok() && !(*future)->done() && not_done.ok()) {
      not_done = absl::FailedPreconditionError(absl::StrCat(
          "future ", id, " is ", FutureStateName((*future)->state()),
          "; only done futures can be released (cancel it first)"));
    }
    here.push_back(id);
  }
  if (elsewhere.empty()) return std::move(released)(Release(here, principal));
  // This node's must be releasable before any node releases.
  if (!not_done.ok()) return std::move(released)(not_done);
  remote_->Release(
      std::move(elsewhere), principal,
      [this, here = std::move(here), principal,
       released = std::move(released)](absl::StatusOr<int64_t> count) mutable {
        if (count.ok() && !here.empty()) {
          absl::StatusOr<int64_t> local = Release(here, principal);
          count = local.ok() ? *count + *local : local;
        }
        std::move(released)(std::move(count));
      });
}

void Engine::ServeCluster() {
  if (options_.bus == nullptr) return;
  // The bus calls back on its thread, which Shutdown() stops first.
  options_.bus->Start(
      [remote = remote_.get()](const std::vector<std::string>& ids) {
        remote->OnEnded(ids);
      },
      [this](const PostgresBus::Request& request) {
        return ServeRequest(request);
      });
}

absl::StatusOr<int64_t> Engine::ServeRequest(
    const PostgresBus::Request& request) {
  if (request.kind == PostgresBus::RequestKind::kRelease) {
    return Release({request.future_id}, request.principal);
  }
  absl::StatusOr<std::shared_ptr<Future>> future =
      Find(request.future_id, request.principal);
  if (!future.ok()) return future.status();
  const CancelAction action = Cancel(
      *future, request.kind == PostgresBus::RequestKind::kCancelIfPending);
  return static_cast<int64_t>(action);
}

}  // namespace futured::server
