// Futures that other nodes of a cluster hold, as this node shows them.
#ifndef FUTURED_SERVER_ENGINE_REMOTE_FUTURES_H_
#define FUTURED_SERVER_ENGINE_REMOTE_FUTURES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/future/future.h"
#include "server/store/postgres_bus.h"

namespace futured::server {

// Lets any node answer for futures that another node holds. A future found
// elsewhere is shown here as a mirror: a Future that never runs here, built
// from its row, which the calls that wait (Result, Wait, AsCompleted) watch
// exactly as they watch this node's own. Mirrors are kept (weakly, while a
// call holds them) by ID; when the bus says futures ended (PostgresBus's
// notification, or its fallback poll), the live mirrors among them are read
// again and ended as their rows say. Cancel and Release of another node's
// future are sent to that node as requests and answered with what it did.
//
// Every future belongs to its principal: another principal's future is
// NOT_FOUND, exactly as an unknown ID. Thread-safe; never blocks: every
// answer comes through a callback, on the bus's thread. `bus` must outlive
// it, and must be closed before it goes.
class RemoteFutures {
 public:
  explicit RemoteFutures(PostgresBus* bus) : bus_(bus) {}
  RemoteFutures(const RemoteFutures&) = delete;
  RemoteFutures& operator=(const RemoteFutures&) = delete;

  using Found = absl::AnyInvocable<
      void(absl::StatusOr<std::vector<std::shared_ptr<Future>>>) &&>;
  // Mirrors of `principal`'s futures `ids` (distinct), in their order;
  // NOT_FOUND naming the first that no node holds for `principal`.
  void Find(std::vector<std::string> ids, std::string principal, Found found)
      ABSL_LOCKS_EXCLUDED(mu_);

  using Cancelled = absl::AnyInvocable<
      void(
          absl::StatusOr<std::pair<CancelAction, std::shared_ptr<Future>>>) &&>;
  // Future::Cancel() (or CancelIfPending() if `only_if_pending`) of
  // `principal`'s future `id`, done by the node that holds it: what it did,
  // and the mirror, which ends once the owner has recorded the end.
  void Cancel(std::string id, std::string principal, bool only_if_pending,
              Cancelled cancelled) ABSL_LOCKS_EXCLUDED(mu_);

  using Released = absl::AnyInvocable<void(absl::StatusOr<int64_t>) &&>;
  // Engine::Release() of `principal`'s futures `ids` (distinct) on the nodes
  // that hold them: NOT_FOUND or FAILED_PRECONDITION (one not done) before
  // any is released; else how many their nodes released.
  void Release(std::vector<std::string> ids, std::string principal,
               Released released) ABSL_LOCKS_EXCLUDED(mu_);

  using Ended =
      absl::AnyInvocable<void(FutureState, FutureEnding, int worker_pid) &&>;
  // Calls `ended` once, with how future `id` ended, when it has ended on
  // whichever node holds it: for a future of this node that another node
  // claimed before it started here. Read now and again whenever futures
  // end (OnEnded()); a future that is gone from the database (released or
  // expired there) ends with a FutureLostError.
  void Follow(std::string id, Ended ended) ABSL_LOCKS_EXCLUDED(mu_);

  // The bus's Ended callback: futures `ids` ended somewhere (none: any may
  // have). Reads the live mirrors and followed futures among them again.
  void OnEnded(const std::vector<std::string>& ids) ABSL_LOCKS_EXCLUDED(mu_);

  // Mirrors alive now, for tests and stats.
  int64_t size() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Mirror {
    std::weak_ptr<Future> future;
    std::string principal;
  };
  using Located = PostgresBus::Located;
  using Owned =
      absl::AnyInvocable<void(absl::StatusOr<std::vector<Located>>) &&>;

  // The rows of `principal`'s futures `ids`, in their order; NOT_FOUND for
  // the first missing.
  void Locate(std::vector<std::string> ids, std::string principal, Owned owned);
  // The mirror of `located`: the live one, brought up to date, or a new one.
  std::shared_ptr<Future> MirrorOf(Located& located, uint64_t generation)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Reads the mirrors of `ids` again and ends those whose future ended.
  void Refresh(std::vector<std::string> ids);
  // Reads the followed futures `ids` and answers those that ended.
  void RefreshFollowed(std::vector<std::string> ids);

  PostgresBus* const bus_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Mirror> mirrors_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Ended> followed_ ABSL_GUARDED_BY(mu_);
  // Counts OnEnded() calls: a mirror made from a row read before one came
  // is read again, as the end it announced may be missing from the row.
  uint64_t generation_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_ENGINE_REMOTE_FUTURES_H_
