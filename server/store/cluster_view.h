// ClusterView: what a cluster node shows of its cluster in GetStats and
// /metrics, read from PostgreSQL on a timer.
#ifndef FUTURED_SERVER_STORE_CLUSTER_VIEW_H_
#define FUTURED_SERVER_STORE_CLUSTER_VIEW_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/store/postgres_connection.h"

namespace futured::server {

// One node's row of futured_nodes, as of the last refresh.
struct ClusterNodeStatus {
  std::string name;
  int64_t epoch = 0;            // raised at each (re)join and adoption
  absl::Time lease_until = {};  // by the database's clock
  bool alive = false;           // lease_until was after the database's now()
  absl::Time joined = {};       // when it last joined
};

// The figures of one snapshot.
struct ClusterStats {
  std::string node;                           // this node's name
  std::vector<ClusterNodeStatus> nodes = {};  // sorted by name
  std::optional<absl::Time> refreshed = {};   // last successful refresh
  // Round trip of one small statement (SELECT 1) at the last refresh.
  absl::Duration database_round_trip = {};
  int64_t refresh_failures = 0;  // refreshes that failed, since start
  std::string error = {};        // why the last refresh failed; empty if not
  int64_t adoptions = 0;         // lost nodes whose work this node adopted
  int64_t adopted_futures = 0;   // the futures it took over from them
  int64_t claims = 0;  // looks that took pending work from busy live nodes
  int64_t claimed_futures = 0;  // the futures they took
};

// Reads the cluster's nodes and measures the database's round trip every
// `interval` on a thread of its own, over a PostgreSQL connection of its own
// (never the journal's), so that GetStats and /metrics answer from memory
// without waiting for the database. Owned by the daemon's main; it must
// outlive whatever calls Snapshot(). Snapshot(), NoteAdoption() and
// NoteClaim() never
// block on the database and are thread-safe; the destructor joins the
// thread (at most one statement's time plus the connect timeout).
class ClusterView {
 public:
  struct Options {
    std::string conninfo;       // libpq connection string or URI
    std::string password = {};  // empty: libpq's own (PGPASSWORD, PGPASSFILE)
    std::string node;           // this node's name
    absl::Duration interval = absl::Seconds(1);
  };

  // Starts the refresh thread; the first refresh runs at once. Never fails:
  // a database it cannot reach shows as `error` until it can.
  explicit ClusterView(Options options);
  ~ClusterView();
  ClusterView(const ClusterView&) = delete;
  ClusterView& operator=(const ClusterView&) = delete;

  // The figures of the last refresh, and the adoption and claim counts.
  ClusterStats Snapshot() const ABSL_LOCKS_EXCLUDED(mu_);
  // Called when this node adopted a lost node's `futures`.
  void NoteAdoption(int64_t futures) ABSL_LOCKS_EXCLUDED(mu_);
  // Called when this node, idle, claimed `futures` that busy live nodes
  // had left waiting.
  void NoteClaim(int64_t futures) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  // One refresh on connection_ (reconnecting if it broke); publishes its
  // result under mu_.
  void Refresh() ABSL_LOCKS_EXCLUDED(mu_);
  // The nodes and the round trip, or why not. Only on the thread.
  absl::Status Read(std::vector<ClusterNodeStatus>* nodes,
                    absl::Duration* round_trip);

  // Constant after construction.
  const Options options_;

  // Used by the refresh thread only.
  std::unique_ptr<PgConnection> connection_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  ClusterStats stats_ ABSL_GUARDED_BY(mu_);

  std::thread thread_;  // last: starts once the rest is constructed
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_STORE_CLUSTER_VIEW_H_
