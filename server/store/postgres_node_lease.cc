#include "server/store/postgres_node_lease.h"

#include <optional>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/store/postgres_rows.h"

namespace futured::server {
namespace {

// Joins the cluster as `node`: its new epoch, or unset while another holds
// the node's lease.
absl::StatusOr<std::optional<int64_t>> TryJoin(PgConnection& db,
                                               const std::string& node,
                                               absl::Duration lease) {
  absl::StatusOr<PgRows> joined = db.Run(
      {"INSERT INTO futured_nodes (name, epoch, lease_until, joined) "
       "VALUES ($1, 1, now() + make_interval(secs => $2::float8), now()) "
       "ON CONFLICT (name) DO UPDATE SET epoch = futured_nodes.epoch + 1, "
       "lease_until = EXCLUDED.lease_until, joined = now() "
       "WHERE futured_nodes.lease_until <= now() RETURNING epoch",
       {node, PgSeconds(lease)}});
  if (!joined.ok()) return joined.status();
  if (joined->size() == 0) return std::nullopt;
  return joined->Int(0, 0);
}

}  // namespace

absl::StatusOr<PgNodeLease> PgNodeLease::Join(PgConnection& db,
                                              std::string node,
                                              absl::Duration lease,
                                              absl::Duration join_wait) {
  const absl::Time give_up = absl::Now() + join_wait;
  for (;;) {
    absl::StatusOr<std::optional<int64_t>> joined = TryJoin(db, node, lease);
    if (!joined.ok()) return joined.status();
    if (joined->has_value())
      return PgNodeLease(std::move(node), **joined, lease);
    if (absl::Now() > give_up) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "node name '", node, "' is held by a live lease in ", db.Target(),
      " (waited ", absl::FormatDuration(join_wait),
      "): another futured runs with it; give each node its own --node_name"));
}

PgStatement PgNodeLease::Fence() const {
  return {"SELECT futured_fence($1, $2)", {node_, PgInt(epoch_)}};
}

absl::Status PgNodeLease::Renew(PgConnection& db) const {
  absl::StatusOr<PgRows> renewed = db.Run(
      {"UPDATE futured_nodes SET lease_until = now() + make_interval(secs => "
       "$3::float8) WHERE name = $1 AND epoch = $2 RETURNING epoch",
       {node_, PgInt(epoch_), PgSeconds(lease_)}});
  if (!renewed.ok()) return renewed.status();
  if (renewed->size() == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "node ", node_, " lost its lease: epoch ", epoch_,
        " is no longer current (another node took its work over)"));
  }
  return absl::OkStatus();
}

void PgNodeLease::GiveUp(PgConnection& db) const {
  db.Run({"UPDATE futured_nodes SET lease_until = now() "
          "WHERE name = $1 AND epoch = $2",
          {node_, PgInt(epoch_)}})
      .IgnoreError();
}

absl::StatusOr<std::vector<JournaledFuture>> PgNodeLease::MoveHere(
    PgConnection& db, absl::string_view select_ids,
    std::vector<PgParam> params) const {
  absl::StatusOr<PgRows> moved = db.Run(
      {absl::StrCat("WITH moving (moving_id) AS (", select_ids,
                    ") UPDATE futured_futures f SET node = $1 FROM moving "
                    "WHERE f.id = moving.moving_id RETURNING ",
                    kPgFutureColumns),
       std::move(params)});
  if (!moved.ok()) return moved.status();
  return PgRowsToFutures(*moved);
}

absl::StatusOr<PgNodeLease::Adoption> PgNodeLease::AdoptOnce(PgConnection& db,
                                                             int max) const {
  if (absl::Status s = db.RunScript("BEGIN"); !s.ok()) return s;
  absl::Cleanup rollback = [&db] { db.RunScript("ROLLBACK").IgnoreError(); };
  if (absl::StatusOr<PgRows> fence = db.Run(Fence()); !fence.ok()) {
    return fence.status();
  }
  absl::StatusOr<PgRows> lapsed =
      db.Run({"SELECT name FROM futured_nodes n WHERE name <> $1 AND "
              "lease_until < now() AND EXISTS (SELECT 1 FROM futured_futures f "
              "WHERE f.node = n.name) ORDER BY lease_until LIMIT 1 "
              "FOR UPDATE OF n SKIP LOCKED",
              {node_}});
  if (!lapsed.ok()) return lapsed.status();
  Adoption adoption;
  if (lapsed->size() == 0) return adoption;
  adoption.lost_node = lapsed->Text(0, 0);
  // The lost node is fenced from here on, even if it is alive after all.
  if (absl::StatusOr<PgRows> fenced =
          db.Run({"UPDATE futured_nodes SET epoch = epoch + 1 WHERE name = $1",
                  {adoption.lost_node}});
      !fenced.ok()) {
    return fenced.status();
  }
  absl::StatusOr<std::vector<JournaledFuture>> futures = MoveHere(
      db,
      "SELECT id FROM futured_futures WHERE node = $2 ORDER BY seq LIMIT $3 "
      "FOR UPDATE SKIP LOCKED",
      {node_, adoption.lost_node, PgInt(max)});
  if (!futures.ok()) return futures.status();
  std::move(rollback).Cancel();
  if (absl::Status s = db.RunScript("COMMIT"); !s.ok()) return s;
  adoption.futures = *std::move(futures);
  return adoption;
}

absl::StatusOr<std::vector<JournaledFuture>> PgNodeLease::ClaimPending(
    PgConnection& db, const std::vector<std::string>& pools,
    const std::vector<std::string>& functions, absl::Time submitted_before,
    int max) const {
  std::vector<PgParam> pool_params(pools.begin(), pools.end());
  std::vector<PgParam> function_params(functions.begin(), functions.end());
  if (absl::Status s = db.RunScript("BEGIN"); !s.ok()) return s;
  absl::Cleanup rollback = [&db] { db.RunScript("ROLLBACK").IgnoreError(); };
  if (absl::StatusOr<PgRows> fence = db.Run(Fence()); !fence.ok()) {
    return fence.status();
  }
  absl::StatusOr<std::vector<JournaledFuture>> futures = MoveHere(
      db,
      "SELECT f.id FROM futured_futures f JOIN futured_nodes n ON n.name = "
      "f.node WHERE f.state = 0 AND f.attempt = 1 AND f.node <> $1 AND "
      "n.lease_until > now() AND f.submit_time < $2 AND f.pool = "
      "ANY($3::text[]) AND f.function = ANY($4::text[]) ORDER BY f.seq LIMIT "
      "$5 FOR UPDATE OF f SKIP LOCKED",
      {node_, PgInt(absl::ToUnixNanos(submitted_before)), PgArray(pool_params),
       PgArray(function_params), PgInt(max)});
  if (!futures.ok()) return futures.status();
  std::move(rollback).Cancel();
  if (absl::Status s = db.RunScript("COMMIT"); !s.ok()) return s;
  return futures;
}

}  // namespace futured::server
