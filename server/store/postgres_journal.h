// The journal in PostgreSQL, shared by the nodes of a cluster.
#ifndef FUTURED_SERVER_STORE_POSTGRES_JOURNAL_H_
#define FUTURED_SERVER_STORE_POSTGRES_JOURNAL_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/store/journal.h"
#include "server/store/journal_ops.h"
#include "server/store/postgres_node_lease.h"
#include "server/store/postgres_schema.h"

namespace futured::server {

class PgConnection;

// A Journal in a PostgreSQL database that several daemons (nodes) share.
// Each node's futures are its own: every row carries its node's name, and a
// node reads and writes only its own rows.
//
// Leases and fencing (PgNodeLease). A node holds a lease in futured_nodes,
// which its writer thread renews every lease/3, and an epoch; every
// transaction of a node first passes the fence, so that a node whose work
// was taken over writes nothing more.
//
// Adoption. Once OnAdopt() is given a callback, the writer thread also looks
// for nodes whose lease lapsed and moves their futures to this node, in
// batches (FOR UPDATE SKIP LOCKED), raising the lost node's epoch in the
// same transaction; once committed, the callback gets them.
//
// Claims. Once OnClaim() is given callbacks, the writer thread also, every
// Options::claim_interval while the node has room (up to 8 intervals
// after looks that found nothing), moves to this node
// futures that live nodes accepted and left PENDING for at least that long
// (PgNodeLease::ClaimPending()). Start() is conditional: only rows still this
// node's become RUNNING; it answers the IDs that were claimed away.
//
// One connection, used by the writer thread (and by Recover() before
// writes start). Like SqliteJournal, the writer takes everything queued
// since its last commit into one transaction, sent in one round trip
// (libpq's pipeline mode) with one statement per record kind (arrays, not
// one statement per future). A lost connection fails the batch with
// UNAVAILABLE and is re-established at the next batch. Thread-safe; the
// destructor Close()s.
class PostgresJournal : public Journal {
 public:
  struct Options {
    std::string conninfo = {};  // libpq connection string or URI, no password
    std::string password = {};  // "": libpq's own (PGPASSWORD, PGPASSFILE)
    std::string node = {};      // this node's name, unique in the cluster
    absl::Duration lease = absl::Seconds(10);
    int max_records_per_commit = 4096;
    int max_adopted_per_commit = 1000;
    // How often an idle node looks for other nodes' pending work, and how
    // long that work must have waited; zero: never (OnClaim() is ignored).
    absl::Duration claim_interval = absl::ZeroDuration();
    int max_claimed_per_commit = 64;
    // How long Open() waits for a lease of `node` that is still held (a
    // daemon of the same name running, or this one just killed) to lapse.
    absl::Duration join_wait = absl::Seconds(20);
    // Called once, on the writer's thread, when this node learns that its
    // lease was lost to another node (its work adopted): from then on the
    // journal refuses every write. The daemon logs and exits there, before
    // the writes that learned it are acknowledged, so that nothing starts
    // that another node may run too. Optional.
    std::function<void(const absl::Status&)> lost_lease = nullptr;
  };

  // The version of the schema this build writes (futured_schema).
  static constexpr int kSchemaVersion = kPostgresSchemaVersion;

  // INVALID_ARGUMENT when `conninfo` does not parse or carries a password
  // (it would show in `ps` and logs).
  static absl::Status CheckConnInfo(const std::string& conninfo);

  // Connects, creates or migrates the schema (serialized among nodes by an
  // advisory lock) and joins the cluster as Options::node with a new epoch.
  // FAILED_PRECONDITION when the database has a newer schema, or the node's
  // lease is still held after join_wait; UNAVAILABLE / PERMISSION_DENIED
  // when the database cannot be reached or logged in to.
  static absl::StatusOr<std::unique_ptr<PostgresJournal>> Open(Options options);

  ~PostgresJournal() override;
  PostgresJournal(const PostgresJournal&) = delete;
  PostgresJournal& operator=(const PostgresJournal&) = delete;

  // This node's futures.
  absl::Status Recover(Recovered each) override;
  void Accept(std::vector<AcceptedCall> calls, Committed committed) override;
  void Start(std::vector<std::string> ids, absl::Time start_time,
             int worker_pid, Started started) override;
  void Unstart(std::vector<std::string> ids) override;
  void End(std::string id, FutureState state, FutureEnding ending,
           Committed committed) override;
  void Retry(std::string id, int attempt, std::vector<AttemptError> earlier,
             Committed committed) override;
  void Forget(std::vector<std::string> ids) override;
  // Any node's future's call, read on the connection the writer uses.
  absl::StatusOr<AcceptedCall> FindCall(absl::string_view id) const override;
  void OnAdopt(Adopted adopted) override;
  void OnClaim(Room room, Claimed claimed) override;
  // Any node's future, read on the writer's connection after its batch.
  void LookUp(std::string id, Found found) override;
  // Also gives the lease up, so that other nodes adopt what is left at once.
  void Close() override;
  JournalStats Stats() const override;

  int64_t epoch() const { return lease_.epoch(); }

 private:
  struct LookUpOp {
    std::string id;
    Found found;
  };
  using Op = journal_ops::Op<LookUpOp>;

  PostgresJournal(Options options, std::unique_ptr<PgConnection> connection,
                  PgNodeLease lease);

  void Enqueue(Op op) ABSL_LOCKS_EXCLUDED(mu_);
  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || closing_;
  }
  void WriterLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // The next ops to commit together, waiting at most until `until`; empty
  // when there are none (then `closing` tells whether to stop).
  std::vector<Op> TakeBatch(absl::Time until, bool& closing)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Writes `ops` in one fenced transaction; `lost` gets the IDs of their
  // StartOps that another node claimed first.
  absl::Status Commit(std::vector<Op>& ops,
                      absl::flat_hash_set<std::string>& lost)
      ABSL_LOCKS_EXCLUDED(connection_mu_);
  // Answers the LookUpOps among `ops` (one query for them all); on error,
  // leaves them to Acknowledge().
  absl::Status LookUpAll(std::vector<Op>& ops)
      ABSL_LOCKS_EXCLUDED(connection_mu_);
  // Renews the lease; FAILED_PRECONDITION when it was lost.
  absl::Status Heartbeat() ABSL_LOCKS_EXCLUDED(connection_mu_);
  // Moves the futures of one lapsed node (a batch of them) to this node and
  // hands them to adopted_. False when there was nothing to adopt, or it
  // failed (tried again at the next renewal).
  bool AdoptOnce() ABSL_LOCKS_EXCLUDED(connection_mu_);
  // Asks room_ what this node could run and claims that many of other
  // nodes' pending futures for it, handing them to claimed_. False when it
  // looked and found none (or failed); true when it found some, or had no
  // room to look for any.
  bool ClaimOnce() ABSL_LOCKS_EXCLUDED(connection_mu_);
  // Reconnects if the connection broke.
  absl::Status EnsureConnected() const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(connection_mu_);
  // After a fence refusal: refuses everything from now on, once.
  void LoseLease(const absl::Status& why) ABSL_LOCKS_EXCLUDED(mu_);
  // Runs the callbacks of `ops`: writes' with `written` (starts' with those
  // of their IDs in `lost`), look-ups not yet answered with `looked`.
  static void Acknowledge(std::vector<Op>& ops, const absl::Status& written,
                          const absl::Status& looked,
                          const absl::flat_hash_set<std::string>& lost = {});
  // Records `op` writes (0 for a look-up).
  static size_t RecordsIn(const Op& op);

  const Options options_;
  // Recover() and the writer take turns on the connection.
  mutable absl::Mutex connection_mu_;
  const std::unique_ptr<PgConnection> connection_
      ABSL_PT_GUARDED_BY(connection_mu_);
  const PgNodeLease lease_;   // its node, epoch and length
  const std::string target_;  // "host/db node N", for Stats()
  // Written once, by OnAdopt() under mu_ before it sets adopting_; read by
  // the writer only after it saw adopting_ set, so without a lock.
  Adopted adopted_;
  // Likewise written once by OnClaim() before it sets claiming_.
  Room room_;
  Claimed claimed_;

  mutable absl::Mutex mu_;
  std::deque<Op> queue_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool adopting_ ABSL_GUARDED_BY(mu_) = false;
  bool claiming_ ABSL_GUARDED_BY(mu_) = false;
  JournalStats stats_ ABSL_GUARDED_BY(mu_);
  // Set once the lease is lost: every write is refused with it.
  absl::Status lost_ ABSL_GUARDED_BY(mu_);
  std::thread writer_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_STORE_POSTGRES_JOURNAL_H_
