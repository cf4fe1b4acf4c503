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
#include "server/store/journal_ops.h"

struct sqlite3;

namespace futured::server {

class SqliteStatement;

// A Journal in DIR/futured.db (SQLite, write-ahead log). DIR/futured.lock is
// held (flock) for as long as the journal is open, so two daemons never
// share a state directory. One writer thread takes everything queued since
// its last commit (up to Options::max_records_per_commit) into one
// transaction: under load, thousands of records per commit; when idle, a
// record is committed as soon as it arrives. Thread-safe; the destructor
// Close()s.
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
  };

  // The version of the schema this build writes (PRAGMA user_version).
  // Version 2 added retry policies: each future's policy, attempt and
  // failed attempts (a version-1 file is migrated when opened).
  static constexpr int kSchemaVersion = 2;

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
  void Accept(std::vector<AcceptedCall> calls, Committed committed) override;
  void Start(std::vector<std::string> ids, absl::Time start_time,
             int worker_pid, Committed committed) override;
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
  std::vector<Op> TakeBatch() ABSL_LOCKS_EXCLUDED(mu_);
  // Writes `ops` in one transaction.
  absl::Status Commit(std::vector<Op>& ops);
  absl::Status Write(journal_ops::AcceptOp& op);
  absl::Status Write(journal_ops::StartOp& op);
  absl::Status Write(journal_ops::EndOp& op);
  absl::Status Write(journal_ops::UnstartOp& op);
  absl::Status Write(journal_ops::RetryOp& op);
  absl::Status Write(journal_ops::ForgetOp& op);
  // Runs `statement` once for each of `ids`, bound to ?1.
  static absl::Status WriteEach(SqliteStatement& statement,
                                const std::vector<std::string>& ids);
  // Runs the callbacks of `ops` with `status`.
  static void Acknowledge(std::vector<Op>& ops, const absl::Status& status);
  static size_t RecordsIn(const Op& op);
  int64_t FileBytes() const;

  const Options options_;
  const std::string path_;  // the database file
  sqlite3* const db_;
  const int lock_fd_;
  std::unique_ptr<SqliteStatement> insert_;
  std::unique_ptr<SqliteStatement> start_;
  std::unique_ptr<SqliteStatement> unstart_;
  std::unique_ptr<SqliteStatement> end_;
  std::unique_ptr<SqliteStatement> retry_;
  std::unique_ptr<SqliteStatement> forget_;

  // Opens reader_ unless it is open.
  absl::Status OpenReaderLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(read_mu_);

  // The read-only connection of Recover() and FindCall(), opened at its
  // first use, and FindCall()'s statement.
  mutable absl::Mutex read_mu_;
  mutable sqlite3* reader_ ABSL_GUARDED_BY(read_mu_) = nullptr;
  mutable std::unique_ptr<SqliteStatement> find_call_ ABSL_GUARDED_BY(read_mu_);

  mutable absl::Mutex mu_;
  std::deque<Op> queue_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  JournalStats stats_ ABSL_GUARDED_BY(mu_);
  std::thread writer_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_STORE_SQLITE_JOURNAL_H_
