// A cluster node's lease in PostgreSQL: joining, renewing, the fence every
// transaction passes, taking over the work of nodes whose lease lapsed, and
// claiming pending work of busy nodes.
#ifndef FUTURED_SERVER_STORE_POSTGRES_NODE_LEASE_H_
#define FUTURED_SERVER_STORE_POSTGRES_NODE_LEASE_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/journal.h"
#include "server/store/postgres_connection.h"

namespace futured::server {

// One node's lease in futured_nodes and its epoch. The epoch is raised each
// time the node (re)joins and each time another node adopts its work; every
// transaction of the node opens with Fence(), which goes on only while the
// epoch is current and holds the node's row for share until the commit, so
// that a node whose work was taken over writes nothing more. Lease times
// are the database's clock, never the nodes'.
//
// A value: the connection is the caller's, passed to each call, which runs
// on it at once (blocking for its round trips). Not thread-safe beyond what
// the connection allows (one thread at a time).
class PgNodeLease {
 public:
  // Joins the cluster as `node` for `lease`, with a new epoch, waiting up to
  // `join_wait` for a lease of the same name that is still held (a daemon of
  // that name running, or one just killed) to lapse: FAILED_PRECONDITION if
  // it does not; the connection's errors.
  static absl::StatusOr<PgNodeLease> Join(PgConnection& db, std::string node,
                                          absl::Duration lease,
                                          absl::Duration join_wait);

  const std::string& node() const { return node_; }
  int64_t epoch() const { return epoch_; }
  absl::Duration lease() const { return lease_; }

  // The statement that opens each of the node's transactions: it fails with
  // FAILED_PRECONDITION (SQLSTATE FUT01) once the epoch is not current.
  PgStatement Fence() const;

  // Extends the lease by its length from now; FAILED_PRECONDITION when it
  // was lost (the epoch is not current).
  absl::Status Renew(PgConnection& db) const;

  // Ends the lease now, so that other nodes adopt what is left at once.
  void GiveUp(PgConnection& db) const;

  // What AdoptOnce() moved: the lost node's name and its futures, in the
  // order they were accepted (empty when no node's lease had lapsed).
  struct Adoption {
    std::string lost_node;
    std::vector<JournaledFuture> futures;
  };

  // In one fenced transaction: takes the oldest lapsed node that still has
  // futures (FOR UPDATE SKIP LOCKED, so that adopters never take the same),
  // raises its epoch (fencing it, even if it is alive after all) and moves
  // up to `max` of its futures to this node. FAILED_PRECONDITION when this
  // node's own lease is lost; the connection's errors.
  absl::StatusOr<Adoption> AdoptOnce(PgConnection& db, int max) const;

  // In one fenced transaction: moves to this node up to `max` of the oldest
  // futures that other nodes, whose leases are held, accepted before
  // `submitted_before` and have not started (PENDING, first attempt), in
  // `pools` and running `functions` (FOR UPDATE SKIP LOCKED, so that a
  // row the owner is starting is left to it, and claimers never take the
  // same). Their owners' epochs stay: an owner learns of the move when its
  // Start() of them finds them gone. The futures, oldest first;
  // FAILED_PRECONDITION when this node's own lease is lost; the
  // connection's errors.
  absl::StatusOr<std::vector<JournaledFuture>> ClaimPending(
      PgConnection& db, const std::vector<std::string>& pools,
      const std::vector<std::string>& functions, absl::Time submitted_before,
      int max) const;

 private:
  // In the caller's transaction: moves to this node the futures whose IDs
  // `select_ids` picks (a SELECT of one column, `id`, that locks its rows;
  // $1 is this node's name, `params` fill it and the rest) and returns
  // them in the order they were accepted.
  absl::StatusOr<std::vector<JournaledFuture>> MoveHere(
      PgConnection& db, absl::string_view select_ids,
      std::vector<PgParam> params) const;

  PgNodeLease(std::string node, int64_t epoch, absl::Duration lease)
      : node_(std::move(node)), epoch_(epoch), lease_(lease) {}

  std::string node_;
  int64_t epoch_;
  absl::Duration lease_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_STORE_POSTGRES_NODE_LEASE_H_
