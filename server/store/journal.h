// What the engine keeps on disk so that accepted futures survive a restart.
#ifndef FUTURED_SERVER_STORE_JOURNAL_H_
#define FUTURED_SERVER_STORE_JOURNAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/future/future.h"
#include "server/future/retry_policy.h"

namespace futured::server {

// A future as accepted: the call, whose it is and when it must end.
struct AcceptedCall {
  std::string id;
  std::string principal;   // "" is the anonymous principal
  std::string request_id;  // "" when the Submit named none
  std::string function;
  std::string pool;
  // The bound arguments, a serialized google.protobuf.ListValue.
  std::string args;
  absl::Time submit_time;
  absl::Time deadline = absl::InfiniteFuture();
  // The timeout the Submit asked for, from which `deadline` came; kept so
  // that a retried request ID is compared with the same call.
  std::optional<absl::Duration> timeout = std::nullopt;
  // The Submit's retry policy; unset for none (one attempt).
  std::optional<RetryPolicy> retry_policy = std::nullopt;
};

// A future's record as recovered at start: its call and how far it got.
struct JournaledFuture {
  AcceptedCall call;
  FutureState state = FutureState::kPending;
  int worker_pid = 0;
  std::optional<absl::Time> start_time;
  std::optional<FutureEnding> ending;  // set when FINISHED or CANCELLED
  // Its attempt (1 for the first) and the failed attempts before it, as the
  // last Retry() left them; `state`, `worker_pid` and `start_time` are
  // those of this attempt.
  int attempt = 1;
  std::vector<AttemptError> earlier_attempts;
};

// Figures for GetStats and /metrics.
struct JournalStats {
  std::string path;     // the database file
  int64_t commits = 0;  // transactions committed
  int64_t records = 0;  // records in them
  int64_t failed_commits = 0;
  absl::Duration commit_time;  // spent committing, in all
  int64_t file_bytes = 0;      // database and write-ahead log
};

// The futures' journal. Writes are queued and committed in groups by the
// implementation's own writer: many records per transaction, never one
// transaction per future, and never on the caller's thread. Records of one
// future are committed in the order they were queued. Callbacks given to
// Accept() and End() run on the writer's thread once their records are
// committed (OK) or could not be (the error), in queueing order; they must
// be quick, and may queue more records but not Close(). Thread-safe.
class Journal {
 public:
  using Committed = absl::AnyInvocable<void(absl::Status) &&>;

  virtual ~Journal() = default;

  // Calls `each` with every future not yet forgotten, in the order they
  // were accepted, one at a time (a journal may hold millions). On an error
  // (an unreadable record), stops and returns it. Call once, before any
  // other write; `each` may queue records (they do not change what is read).
  using Recovered = absl::FunctionRef<void(JournaledFuture&)>;
  virtual absl::Status Recover(Recovered each) = 0;

  // Recover(), reading less: a done future without a request ID may come
  // to `left` instead of `each`, as its ID, owner and end time only (views
  // valid during the call), its record left on disk for LoadDone(). A
  // million done futures are restored in a fraction of the time and memory
  // that way. The default gives every future to `each`.
  struct LeftOnDisk {
    absl::string_view id;
    absl::string_view principal;
    absl::Time end_time;
  };
  using RecoveredLeft = absl::FunctionRef<void(const LeftOnDisk&)>;
  virtual absl::Status RecoverLeavingDone(Recovered each, RecoveredLeft left) {
    return Recover(each);
  }

  // The whole record of a future that RecoverLeavingDone() left on disk
  // (and that was not forgotten since): NOT_FOUND when the journal has no
  // such future. Reads the disk: any thread, beside the writer.
  virtual absl::StatusOr<JournaledFuture> LoadDone(absl::string_view id) const {
    return absl::UnimplementedError("this journal leaves nothing on disk");
  }

  // Records new futures, PENDING. `committed` runs when they are durable.
  virtual void Accept(std::vector<AcceptedCall> calls, Committed committed) = 0;

  // What Start() answers once its record is committed: the IDs among those
  // given that this node no longer holds, because another node of a
  // cluster claimed them first (ClaimIdleWork()): their start is not
  // recorded and they must not run here. Empty for a journal of one daemon.
  // Or the error, with which nothing is recorded.
  using Started =
      absl::AnyInvocable<void(absl::StatusOr<std::vector<std::string>>) &&>;

  // Records that the tasks of futures `ids` are handed to a runner that may
  // start them at once, in process `worker_pid` (0: a thread): from then on
  // those still this node's and PENDING count as RUNNING. `started` runs
  // when that is durable.
  virtual void Start(std::vector<std::string> ids, absl::Time start_time,
                     int worker_pid, Started started) = 0;

  // Records that futures which Start() recorded never started after all
  // (their pool stopped first): they are PENDING again, to run after a
  // restart. Not waited for; Close() commits it.
  virtual void Unstart(std::vector<std::string> ids) = 0;

  // Records how a future ended (FINISHED or CANCELLED). `committed` runs
  // when that is durable.
  virtual void End(std::string id, FutureState state, FutureEnding ending,
                   Committed committed) = 0;

  // Records that a future's attempt failed and that it waits, PENDING, for
  // attempt number `attempt`: `earlier` holds every failed attempt so far,
  // the new one last (it replaces what an earlier Retry() recorded). Its
  // start time and worker are cleared; a later Start() records the next
  // attempt's. A Retry() queued after the future's End() changes nothing
  // (a Cancel can end the future between its retry and this record).
  // `committed` (may be empty) runs when that is durable.
  // Added with retry policies (schema v2 of SqliteJournal).
  virtual void Retry(std::string id, int attempt,
                     std::vector<AttemptError> earlier,
                     Committed committed) = 0;

  // Drops futures from the journal (released, expired, or refused after
  // their Accept). Not waited for.
  virtual void Forget(std::vector<std::string> ids) = 0;

  // The call of future `id` as accepted: NOT_FOUND when the journal has no
  // such future (never journaled, or forgotten). Reads what is committed;
  // any thread, beside the writer.
  virtual absl::StatusOr<AcceptedCall> FindCall(absl::string_view id) const = 0;
  // Cluster journals only (several daemons on one database, e.g.
  // PostgresJournal): from now on, the futures of nodes that stopped (their
  // lease lapsed) are moved to this node and `adopted` is called with them,
  // on the writer's thread, once that move is committed: the lost node's
  // name and its futures in the order they were accepted, as Recover()
  // returns them. A journal of one daemon (SqliteJournal) never calls it,
  // hence the default. Call at most once, after Recover().
  using Adopted = absl::AnyInvocable<void(const std::string& node,
                                          std::vector<JournaledFuture>)>;
  virtual void OnAdopt(Adopted adopted) {}

  // What a node has room for now: the pools with idle workers and nothing
  // queued, the functions it runs, and how many futures it would take.
  struct ClaimRoom {
    std::vector<std::string> pools;
    std::vector<std::string> functions;
    int count = 0;
  };
  using Room = absl::AnyInvocable<ClaimRoom()>;
  using Claimed = absl::AnyInvocable<void(std::vector<JournaledFuture>)>;

  // Cluster journals only: from now on, now and then (a cluster journal's
  // own interval), asks `room` what this node could run, and when it could
  // run some, moves up to that many futures that other live nodes accepted
  // and have left PENDING for a while to this node and calls `claimed` with
  // them (oldest first) once that move is committed; the node they came
  // from learns it at its Start() of them. Both run on the writer's thread.
  // Call at most once, after Recover().
  virtual void OnClaim(Room room, Claimed claimed) {}

  // Cluster journals only: the record of future `id` whichever node holds
  // it, read by the writer after the records queued before; `found` gets it
  // (unset when no node has it) or the error, on the writer's thread. A
  // journal of one daemon holds nothing its engine's table lacks: the
  // default answers unset at once.
  using Found = absl::AnyInvocable<
      void(absl::StatusOr<std::optional<JournaledFuture>>) &&>;
  virtual void LookUp(std::string id, Found found) {
    std::move(found)(std::optional<JournaledFuture>());
  }

  // Commits what is queued, runs its callbacks and stops the writer; later
  // writes are refused with FAILED_PRECONDITION. Blocks until then.
  virtual void Close() = 0;

  virtual JournalStats Stats() const = 0;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_STORE_JOURNAL_H_
