#include "server/store/sqlite_journal.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "server/store/journal_codec.h"
#include "server/store/journal_log_row.h"
#include "server/store/sqlite_statement.h"

namespace futured::server {
namespace {

std::optional<int64_t> TimeColumn(absl::Time time) {
  if (time == absl::InfiniteFuture()) return std::nullopt;
  return absl::ToUnixNanos(time);
}

// The retry columns of a row Recover() reads (17: attempt, 18:
// retry_policy, 19: earlier_attempts) into `f`.
void BindEnding(SqliteStatement& s, int first, const FutureEnding& ending) {
  s.BindOptionalInt(first,
                    ending.start_time
                        ? std::optional(absl::ToUnixNanos(*ending.start_time))
                        : std::nullopt);
  s.BindInt(first + 1, absl::ToUnixNanos(ending.end_time));
  if (const auto* value =
          std::get_if<google::protobuf::Value>(&ending.outcome)) {
    s.BindBlob(first + 2, value->SerializeAsString());
  } else if (const auto* error = std::get_if<TaskError>(&ending.outcome)) {
    s.BindText(first + 3, error->type);
    s.BindText(first + 4, error->message);
    if (error->details.kind_case() != google::protobuf::Value::KIND_NOT_SET) {
      s.BindBlob(first + 5, error->details.SerializeAsString());
    }
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteJournal>> SqliteJournal::Open(
    Options options) {
  absl::StatusOr<int> lock_fd = sqlite_schema::LockDirectory(options.dir);
  if (!lock_fd.ok()) return lock_fd.status();
  absl::Cleanup unlock = [fd = *lock_fd] { close(fd); };
  const std::string path = absl::StrCat(options.dir, "/futured.db");
  sqlite3* db = nullptr;
  // No mutex on the connection: only the writer thread uses it (Recover()
  // and FindCall() read on a connection of their own). Recovering a million
  // futures took a third longer with one, locked on every column read.
  const int code = sqlite3_open_v2(
      path.c_str(), &db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  absl::Cleanup close_db = [db] { sqlite3_close_v2(db); };
  if (code != SQLITE_OK) {
    return SqliteError(db, code, absl::StrCat("cannot open ", path));
  }
  sqlite3_extended_result_codes(db, 1);
  if (absl::Status configured =
          sqlite_schema::Configure(db, options.sync == Sync::kFull, path);
      !configured.ok()) {
    return configured;
  }
  std::move(unlock).Cancel();
  std::move(close_db).Cancel();
  std::unique_ptr<SqliteJournal> journal(
      new SqliteJournal(std::move(options), db, *lock_fd));
  if (absl::Status prepared = journal->Prepare(); !prepared.ok()) {
    return prepared;
  }
  // Rows a crash left in the log are folded only after Recover() read them.
  absl::StatusOr<std::unique_ptr<SqliteStatement>> logged =
      SqliteStatement::Prepare(db, "SELECT EXISTS (SELECT 1 FROM log)");
  if (!logged.ok()) return logged.status();
  absl::StatusOr<bool> row = (*logged)->Step();
  if (!row.ok()) return row.status();
  if ((*logged)->Int(0) != 0) journal->backlog_.Hold();
  logged->reset();
  journal->writer_ = std::thread([j = journal.get()] { j->WriterLoop(); });
  return journal;
}

SqliteJournal::SqliteJournal(Options options, sqlite3* db, int lock_fd)
    : options_(std::move(options)),
      path_(absl::StrCat(options_.dir, "/futured.db")),
      db_(db),
      lock_fd_(lock_fd),
      backlog_(options_.backlog) {}

SqliteJournal::~SqliteJournal() {
  Close();
  append_.reset();
  trim_.reset();
  upsert_.reset();
  start_.reset();
  unstart_.reset();
  end_.reset();
  retry_.reset();
  forget_.reset();
  {
    absl::MutexLock lock(&read_mu_);
    find_call_.reset();
    sqlite3_close_v2(reader_);
  }
  sqlite3_close_v2(db_);
  close(lock_fd_);
}

absl::Status SqliteJournal::Prepare() {
  struct {
    std::unique_ptr<SqliteStatement>* statement;
    const char* sql;
  } statements[] = {
      {&append_, "INSERT INTO log (records) VALUES (?1)"},
      {&trim_, "DELETE FROM log WHERE seq BETWEEN ?1 AND ?2"},
      {&upsert_,
       "INSERT INTO futures (id, principal, request_id, function, pool, args, "
       "submit_time, deadline, timeout, state, worker_pid, start_time, "
       "end_time, value, error_type, error_message, error_details, attempt, "
       "retry_policy, earlier_attempts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
       "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20) "
       "ON CONFLICT (id) DO UPDATE SET principal = ?2, request_id = ?3, "
       "function = ?4, pool = ?5, args = ?6, submit_time = ?7, deadline = ?8, "
       "timeout = ?9, state = ?10, worker_pid = ?11, start_time = ?12, "
       "end_time = ?13, value = ?14, error_type = ?15, error_message = ?16, "
       "error_details = ?17, attempt = ?18, retry_policy = ?19, "
       "earlier_attempts = ?20"},
      {&start_,
       "UPDATE futures SET state = 1, start_time = ?2, worker_pid = ?3 "
       "WHERE id = ?1 AND state = 0"},
      {&unstart_,
       "UPDATE futures SET state = 0, start_time = NULL, worker_pid = 0 "
       "WHERE id = ?1 AND state = 1"},
      {&end_,
       "UPDATE futures SET state = ?2, start_time = ?3, end_time = ?4, "
       "value = ?5, error_type = ?6, error_message = ?7, error_details = ?8 "
       "WHERE id = ?1"},
      {&retry_,
       "UPDATE futures SET state = 0, attempt = ?2, earlier_attempts = ?3, "
       "start_time = NULL, worker_pid = 0 WHERE id = ?1 AND state IN (0, 1)"},
      {&forget_, "DELETE FROM futures WHERE id = ?1"},
  };
  for (auto& [statement, sql] : statements) {
    absl::StatusOr<std::unique_ptr<SqliteStatement>> prepared =
        SqliteStatement::Prepare(db_, sql);
    if (!prepared.ok()) return prepared.status();
    *statement = *std::move(prepared);
  }
  return absl::OkStatus();
}

void SqliteJournal::Accept(std::vector<AcceptedCall> calls,
                           Committed committed) {
  Enqueue(journal_ops::AcceptOp{std::move(calls), std::move(committed)});
}

void SqliteJournal::Start(std::vector<std::string> ids, absl::Time start_time,
                          int worker_pid, Started started) {
  Enqueue(journal_ops::StartOp{std::move(ids), start_time, worker_pid,
                               std::move(started)});
}

void SqliteJournal::Unstart(std::vector<std::string> ids) {
  Enqueue(journal_ops::UnstartOp{std::move(ids)});
}

void SqliteJournal::End(std::string id, FutureState state, FutureEnding ending,
                        Committed committed) {
  Enqueue(journal_ops::EndOp{std::move(id), state, std::move(ending),
                             std::move(committed)});
}

void SqliteJournal::Retry(std::string id, int attempt,
                          std::vector<AttemptError> earlier,
                          Committed committed) {
  Enqueue(journal_ops::RetryOp{std::move(id), attempt, std::move(earlier),
                               std::move(committed)});
}

void SqliteJournal::Forget(std::vector<std::string> ids) {
  Enqueue(journal_ops::ForgetOp{std::move(ids)});
}

void SqliteJournal::Enqueue(Op op) {
  {
    absl::MutexLock lock(&mu_);
    if (!closing_) {
      queue_.push_back(std::move(op));
      return;
    }
  }
  std::vector<Op> refused;
  refused.push_back(std::move(op));
  Acknowledge(refused,
              absl::FailedPreconditionError("journal: closed (stopping)"));
}

std::vector<SqliteJournal::Op> SqliteJournal::TakeBatch(bool& closing) {
  // With a generation to fold, fold a chunk now; with records that are not
  // due yet, wake when they are.
  const absl::Duration wait = backlog_.folding() ? absl::ZeroDuration()
                              : backlog_.empty() ? absl::InfiniteDuration()
                                                 : options_.backlog.fold_age;
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(this, &SqliteJournal::HasWorkLocked),
                       wait);
  closing = closing_;
  std::vector<Op> batch;
  size_t records = 0;
  while (!queue_.empty() &&
         records < static_cast<size_t>(options_.max_records_per_commit)) {
    records += RecordsIn(queue_.front());
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return batch;
}

void SqliteJournal::WriterLoop() {
  // Named for `top -H` and perf.
  pthread_setname_np(pthread_self(), "journal");
  for (;;) {
    bool closing = false;
    std::vector<Op> batch = TakeBatch(closing);
    if (batch.empty() && closing) break;  // nothing is left to write
    backlog_.RotateIfDue(absl::Now(), /*all=*/false);
    if (batch.empty() && !backlog_.folding()) continue;
    CommitAndAcknowledge(batch);
  }
  FoldAll();
}

void SqliteJournal::CommitAndAcknowledge(std::vector<Op>& ops) {
  const absl::Time began = absl::Now();
  JournalBacklog::Chunk folded;
  const absl::StatusOr<int64_t> row = Commit(ops, folded);
  const absl::Duration took = absl::Now() - began;
  {
    absl::MutexLock lock(&mu_);
    if (row.ok()) {
      ++stats_.commits;
      for (const Op& op : ops) stats_.records += RecordsIn(op);
    } else {
      ++stats_.failed_commits;
    }
    stats_.commit_time += took;
  }
  if (row.ok()) {
    backlog_.Folded(folded, *row);
    // Before the callbacks: FindCall() finds an accepted future's call.
    for (Op& op : ops) backlog_.Add(op, *row);
  }
  Acknowledge(ops, row.status());
}

absl::StatusOr<int64_t> SqliteJournal::Commit(const std::vector<Op>& ops,
                                              JournalBacklog::Chunk& folded) {
  if (absl::Status begun = SqliteExec(db_, "BEGIN IMMEDIATE"); !begun.ok()) {
    return begun;
  }
  absl::StatusOr<int64_t> row = Write(ops, folded);
  absl::Status committed = row.ok() ? SqliteExec(db_, "COMMIT") : row.status();
  if (!committed.ok()) {
    SqliteExec(db_, "ROLLBACK").IgnoreError();
    return committed;
  }
  return row;
}

absl::StatusOr<int64_t> SqliteJournal::Write(const std::vector<Op>& ops,
                                             JournalBacklog::Chunk& folded) {
  absl::StatusOr<JournalBacklog::Chunk> chunk = backlog_.FoldSome(
      static_cast<size_t>(options_.fold_chunk),
      [this](const std::string& id, BackloggedFuture& future) {
        return WriteFolded(id, future);
      });
  if (!chunk.ok()) return chunk.status();
  int64_t row = 0;
  if (!ops.empty() || !chunk->carried.empty()) {
    append_->BindBlob(1, journal_log_row::Encode(ops, chunk->carried));
    if (absl::Status run = append_->Run(); !run.ok()) return run;
    row = sqlite3_last_insert_rowid(db_);
  }
  if (chunk->rows) {
    trim_->BindInt(1, chunk->rows->first);
    trim_->BindInt(2, chunk->rows->second);
    if (absl::Status run = trim_->Run(); !run.ok()) return run;
  }
  folded = *std::move(chunk);
  return row;
}

void SqliteJournal::FoldAll() {
  for (;;) {
    backlog_.RotateIfDue(absl::Now(), /*all=*/true);
    if (!backlog_.folding()) return;
    JournalBacklog::Chunk folded;
    absl::StatusOr<int64_t> row = Commit({}, folded);
    if (!row.ok()) return;  // left in the log for Recover()
    backlog_.Folded(folded, *row);
  }
}

absl::Status SqliteJournal::WriteFolded(const std::string& id,
                                        BackloggedFuture& future) {
  if (future.whole) return WriteWhole(*future.whole);
  if (future.forgotten) {
    forget_->BindText(1, id);
    return forget_->Run();
  }
  for (const RecordChange& change : future.changes) {
    if (absl::Status run = WriteChange(id, change); !run.ok()) return run;
  }
  return absl::OkStatus();
}

absl::Status SqliteJournal::WriteWhole(const JournaledFuture& f) {
  SqliteStatement& s = *upsert_;
  const AcceptedCall& call = f.call;
  s.BindText(1, call.id);
  s.BindText(2, call.principal);
  s.BindText(3, call.request_id);
  s.BindText(4, call.function);
  s.BindText(5, call.pool);
  s.BindBlob(6, call.args);
  s.BindInt(7, absl::ToUnixNanos(call.submit_time));
  s.BindOptionalInt(8, TimeColumn(call.deadline));
  s.BindOptionalInt(
      9, call.timeout ? std::optional(absl::ToInt64Nanoseconds(*call.timeout))
                      : std::nullopt);
  s.BindInt(10, journal_ops::StateColumn(f.state));
  s.BindInt(11, f.worker_pid);
  if (f.ending) {
    BindEnding(s, 12, *f.ending);
  } else if (f.start_time) {
    s.BindInt(12, absl::ToUnixNanos(*f.start_time));
  }
  s.BindInt(18, f.attempt);
  if (call.retry_policy) s.BindBlob(19, SerializePolicy(*call.retry_policy));
  if (!f.earlier_attempts.empty()) {
    s.BindBlob(20, SerializeAttempts(f.earlier_attempts));
  }
  return s.Run();
}

absl::Status SqliteJournal::WriteChange(const std::string& id,
                                        const RecordChange& change) {
  if (const auto* start = std::get_if<StartChange>(&change)) {
    start_->BindText(1, id);
    start_->BindInt(2, absl::ToUnixNanos(start->start_time));
    start_->BindInt(3, start->worker_pid);
    return start_->Run();
  }
  if (std::holds_alternative<UnstartChange>(change)) {
    unstart_->BindText(1, id);
    return unstart_->Run();
  }
  if (const auto* end = std::get_if<EndChange>(&change)) {
    end_->BindText(1, id);
    end_->BindInt(2, journal_ops::StateColumn(end->state));
    BindEnding(*end_, 3, end->ending);
    return end_->Run();
  }
  const auto& retry = std::get<RetryChange>(change);
  retry_->BindText(1, id);
  retry_->BindInt(2, retry.attempt);
  retry_->BindBlob(3, SerializeAttempts(retry.earlier));
  return retry_->Run();
}

size_t SqliteJournal::RecordsIn(const Op& op) {
  return std::visit([](const auto& o) { return journal_ops::RecordsIn(o); },
                    op);
}

void SqliteJournal::Acknowledge(std::vector<Op>& ops,
                                const absl::Status& status) {
  for (Op& op : ops) {
    std::visit([&status](auto& o) { journal_ops::Acknowledge(o, status); }, op);
  }
}

void SqliteJournal::Close() {
  {
    absl::MutexLock lock(&mu_);
    closing_ = true;
  }
  if (writer_.joinable()) writer_.join();
}

int64_t SqliteJournal::FileBytes() const {
  int64_t bytes = 0;
  for (const char* suffix : {"", "-wal"}) {
    struct stat st {};
    if (stat(absl::StrCat(path_, suffix).c_str(), &st) == 0) {
      bytes += st.st_size;
    }
  }
  return bytes;
}

JournalStats SqliteJournal::Stats() const {
  JournalStats stats;
  {
    absl::MutexLock lock(&mu_);
    stats = stats_;
  }
  stats.path = path_;
  stats.file_bytes = FileBytes();
  return stats;
}

}  // namespace futured::server
