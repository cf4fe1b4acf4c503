// The journal in an SQLite database, committed in groups by a writer thread.
#ifndef FUTURED_SERVER_STORE_SQLITE_JOURNAL_H_
#define FUTURED_SERVER_STORE_SQLITE_JOURNAL_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/store/journal.h"
#include "server/store/journal_backlog.h"
#include "server/store/journal_ops.h"
#include "server/store/sqlite_schema.h"

struct sqlite3;

namespace futured::server {

class SqliteStatement;

// A Journal in DIR/futured.db (SQLite, write-ahead log). DIR/futured.lock is
// held (flock) for as long as the journal is open, so two daemons never
// share a state directory. One writer thread takes everything queued since
// its last commit (up to Options::max_records_per_commit) into one
// transaction: under load, thousands of records per commit; when idle, a
// record is committed as soon as it arrives.
//
// A commit's records go into one row of the `log` table, compactly encoded
// (journal_log_row), not into the futures' rows: a future's records cost an
// append each, not an update in place. The same transactions fold older
// records into the `futures` table a chunk at a time and delete their log
// rows (JournalBacklog): a future released soon after it ended never gets a
// row, and one that stays gets one row. Recover() reads the table and
// replays the log over it; Close() folds everything, so that a stopped
// daemon leaves the table alone. Thread-safe; the destructor Close()s.
class SqliteJournal : public Journal {
 public:
  // SQLite's `synchronous`: kNormal survives a crash of the process (a
  // commit is in the write-ahead log before the callback runs), kFull also
  // the loss of power (the log is fsync'ed at each commit).
  enum class Sync { kNormal, kFull };

  struct Options {
    std::string dir;  // created if missing
    Sync sync = Sync::kNormal;
    int max_records_per_commit = 4096;
    JournalBacklog::Options backlog = {};
    // Futures folded into the table per transaction, at most.
    int fold_chunk = 1024;
  };

  // The version of the schema this build writes (PRAGMA user_version); an
  // older file is migrated when opened (sqlite_schema.h).
  static constexpr int kSchemaVersion = sqlite_schema::kSchemaVersion;

  // Opens or creates the journal and brings its schema up to date.
  // FAILED_PRECONDITION when another process holds the directory or the
  // file has a newer schema; DATA_LOSS when the file is not a futured
  // journal or is corrupt; PERMISSION_DENIED / UNAVAILABLE when the
  // directory cannot be used; RESOURCE_EXHAUSTED when the disk is full.
  static absl::StatusOr<std::unique_ptr<SqliteJournal>> Open(Options options);

  ~SqliteJournal() override;
  SqliteJournal(const SqliteJournal&) = delete;
  SqliteJournal& operator=(const SqliteJournal&) = delete;

  absl::Status Recover(Recovered each) override;
  absl::Status RecoverLeavingDone(Recovered each, RecoveredLeft left) override;
  absl::StatusOr<JournaledFuture> LoadDone(absl::string_view id) const override;
  void Accept(std::vector<AcceptedCall> calls, Committed committed) override;
  void Start(std::vector<std::string> ids, absl::Time start_time,
             int worker_pid, Started started) override;
  void Unstart(std::vector<std::string> ids) override;
  void End(std::string id, FutureState state, FutureEnding ending,
           Committed committed) override;
  void Retry(std::string id, int attempt, std::vector<AttemptError> earlier,
             Committed committed) override;
  void Forget(std::vector<std::string> ids) override;
  absl::StatusOr<AcceptedCall> FindCall(absl::string_view id) const override;
  void Close() override;
  JournalStats Stats() const override;

 private:
  using Op = journal_ops::Op<>;

  SqliteJournal(Options options, sqlite3* db, int lock_fd);

  absl::Status Prepare();
  // Queues `op` for the writer, or acknowledges it now with an error once
  // closed.
  void Enqueue(Op op) ABSL_LOCKS_EXCLUDED(mu_);
  bool HasWorkLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || closing_;
  }
  void WriterLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // The next ops to commit together; empty once closing with nothing left.
  // The next ops to commit together, waiting for some at most while the
  // backlog has nothing to fold now; `closing` tells whether Close() began.
  std::vector<Op> TakeBatch(bool& closing) ABSL_LOCKS_EXCLUDED(mu_);
  // Commits `ops` (possibly none) and a fold chunk in one transaction, then
  // hands the ops' records to the backlog and runs their callbacks.
  void CommitAndAcknowledge(std::vector<Op>& ops) ABSL_LOCKS_EXCLUDED(mu_);
  // The transaction: `ops` as one log row (its seq, 0 for none), and up to
  // Options::fold_chunk futures folded into the table.
  absl::StatusOr<int64_t> Commit(const std::vector<Op>& ops,
                                 JournalBacklog::Chunk& folded);
  // The writes of Commit(), inside its transaction.
  absl::StatusOr<int64_t> Write(const std::vector<Op>& ops,
                                JournalBacklog::Chunk& folded);
  // Folds everything left (Close()).
  void FoldAll();
  // Writes what the backlog holds of future `id` into its row.
  absl::Status WriteFolded(const std::string& id, BackloggedFuture& future);
  absl::Status WriteWhole(const JournaledFuture& future);
  absl::Status WriteChange(const std::string& id, const RecordChange& change);
  // Reads the log into `replayed` (Recover()).
  absl::Status ReadLog(JournalBacklog& replayed)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  // Recover(), and RecoverLeavingDone() when `left` is set.
  absl::Status RecoverLocked(Recovered each, const RecoveredLeft* left)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  // Streams the futures table, replayed over; with `left`, a done future's
  // row that the log does not change goes to `left` instead of `each`.
  absl::Status ReadTable(JournalBacklog& replayed, Recovered each,
                         const RecoveredLeft* left)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  // Runs the callbacks of `ops` with `status`.
  static void Acknowledge(std::vector<Op>& ops, const absl::Status& status);
  static size_t RecordsIn(const Op& op);
  int64_t FileBytes() const;

  const Options options_;
  const std::string path_;  // the database file
  sqlite3* const db_;
  const int lock_fd_;
  std::unique_ptr<SqliteStatement> append_;  // a log row
  std::unique_ptr<SqliteStatement> trim_;    // folded log rows
  std::unique_ptr<SqliteStatement> upsert_;  // a whole future's row
  std::unique_ptr<SqliteStatement> start_;
  std::unique_ptr<SqliteStatement> unstart_;
  std::unique_ptr<SqliteStatement> end_;
  std::unique_ptr<SqliteStatement> retry_;
  std::unique_ptr<SqliteStatement> forget_;

  // Opens reader_ unless it is open.
  absl::Status OpenReaderLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);
  // Steps `statement` (prepared from `sql` on reader_ at its first use; its
  // one parameter is the ID) onto future `id`'s row: NOT_FOUND if there is
  // none. The caller reads the row, then resets the statement.
  absl::StatusOr<SqliteStatement*> SelectByIdLocked(
      std::unique_ptr<SqliteStatement>& statement, const std::string& sql,
      absl::string_view id) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);

  // The read-only connection of Recover(), FindCall() and LoadDone(),
  // opened at its first use, and the statements of the last two.
  mutable absl::Mutex read_mu_;
  mutable sqlite3* reader_ ABSL_GUARDED_BY(read_mu_) = nullptr;
  mutable std::unique_ptr<SqliteStatement> find_call_ ABSL_GUARDED_BY(read_mu_);
  mutable std::unique_ptr<SqliteStatement> load_done_ ABSL_GUARDED_BY(read_mu_);

  JournalBacklog backlog_;

  mutable absl::Mutex mu_;
  std::deque<Op> queue_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  JournalStats stats_ ABSL_GUARDED_BY(mu_);
  std::thread writer_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_STORE_SQLITE_JOURNAL_H_
