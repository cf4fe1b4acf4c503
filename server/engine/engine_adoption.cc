// Engine::AdoptLostNodes(): a cluster node takes over the futures of a node
// whose lease lapsed, through the same path as Recover().
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/engine/engine.h"

namespace futured::server {
namespace {

TaskError NodeLost(const std::string& node) {
  return TaskError{
      .type = "NodeLostError",
      .message = absl::StrCat("node ", node,
                              " stopped while this task was running; it was "
                              "not run again (at most once)")};
}

}  // namespace

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
    const RecoveryCounts counts = Restore(futures, NodeLost(node));
    if (report) report(node, counts);
  });
}

}  // namespace futured::server
