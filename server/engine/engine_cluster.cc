// The engine in a cluster: AdoptLostNodes() takes over the futures of a node
// whose lease lapsed, through the same path as Recover(); LookUpElsewhere()
// reads another node's future; ServeCluster() answers other nodes' requests.
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
