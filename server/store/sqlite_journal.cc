#include "server/store/sqlite_journal.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/store/journal_codec.h"
#include "server/store/sqlite_statement.h"

namespace futured::server {
namespace {

// PRAGMA application_id of a futured journal: "FUTR".
constexpr int kApplicationId = 0x46555452;

// Migrations: kMigrations[v] brings schema version v to v + 1.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE futures (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  principal TEXT NOT NULL,
  request_id TEXT NOT NULL,
  function TEXT NOT NULL,
  pool TEXT NOT NULL,
  args BLOB NOT NULL,
  submit_time INTEGER NOT NULL,
  deadline INTEGER,
  timeout INTEGER,
  state INTEGER NOT NULL,
  worker_pid INTEGER NOT NULL DEFAULT 0,
  start_time INTEGER,
  end_time INTEGER,
  value BLOB,
  error_type TEXT,
  error_message TEXT,
  error_details BLOB
);
)sql",
    // 2: retry policies. `attempt` is the attempt the state is of;
    // `earlier_attempts` a futured.internal.JournalAttempts and
    // `retry_policy` a futured.internal.JournalRetryPolicy (NULL for none).
    R"sql(
ALTER TABLE futures ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
ALTER TABLE futures ADD COLUMN retry_policy BLOB;
ALTER TABLE futures ADD COLUMN earlier_attempts BLOB;
)sql",
};
static_assert(std::size(kMigrations) == SqliteJournal::kSchemaVersion);

std::optional<int64_t> TimeColumn(absl::Time time) {
  if (time == absl::InfiniteFuture()) return std::nullopt;
  return absl::ToUnixNanos(time);
}

// The retry columns of a row Recover() reads (17: attempt, 18:
// retry_policy, 19: earlier_attempts) into `f`.
absl::Status ReadRetry(const SqliteStatement& row, JournaledFuture& f) {
  f.attempt = static_cast<int>(row.Int(17));
  if (!row.IsNull(18)) {
    f.call.retry_policy = ParsePolicy(row.Text(18));
    if (!f.call.retry_policy) {
      return absl::DataLossError(absl::StrCat(
          "journal: future ", f.call.id, " has an unreadable retry policy"));
    }
  }
  if (!row.IsNull(19)) {
    std::optional<std::vector<AttemptError>> attempts =
        ParseAttempts(row.Text(19));
    if (!attempts) {
      return absl::DataLossError(absl::StrCat(
          "journal: future ", f.call.id, " has unreadable earlier attempts"));
    }
    f.earlier_attempts = *std::move(attempts);
  }
  return absl::OkStatus();
}

absl::Status ErrnoStatus(int error, absl::string_view what) {
  const std::string message = absl::StrCat(what, ": ", std::strerror(error));
  switch (error) {
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::UnavailableError(message);
  }
}

// Creates `dir` if missing and takes its lock file: the file descriptor
// that holds it.
absl::StatusOr<int> LockDirectory(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    return ErrnoStatus(error.value(),
                       absl::StrCat("cannot create state directory ", dir));
  }
  const std::string path = absl::StrCat(dir, "/futured.lock");
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("cannot open ", path));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int flock_error = errno;
    char pid[32] = {};
    const ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);
    close(fd);
    if (flock_error == EWOULDBLOCK) {
      return absl::FailedPreconditionError(absl::StrCat(
          "state directory ", dir, " is in use by another futured",
          n > 0 ? absl::StrCat(" (pid ", absl::StripAsciiWhitespace(pid), ")")
                : "",
          "; give each daemon its own --state_dir"));
    }
    return ErrnoStatus(flock_error, absl::StrCat("cannot lock ", path));
  }
  const std::string pid = absl::StrCat(getpid(), "\n");
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) !=
                                   static_cast<ssize_t>(pid.size())) {
    const int write_error = errno;
    close(fd);
    return ErrnoStatus(write_error, absl::StrCat("cannot write ", path));
  }
  return fd;
}

absl::StatusOr<int64_t> PragmaInt(sqlite3* db, const char* sql) {
  absl::StatusOr<std::unique_ptr<SqliteStatement>> statement =
      SqliteStatement::Prepare(db, sql);
  if (!statement.ok()) return statement.status();
  absl::StatusOr<bool> row = (*statement)->Step();
  if (!row.ok()) return row.status();
  return *row ? (*statement)->Int(0) : 0;
}

// Sets the pragmas and brings the schema up to date.
absl::Status Configure(sqlite3* db, SqliteJournal::Sync sync,
                       const std::string& path) {
  // The first read of the file: what a file that is no database fails on.
  absl::StatusOr<int64_t> application_id =
      PragmaInt(db, "PRAGMA application_id");
  if (!application_id.ok()) return application_id.status();
  absl::StatusOr<int64_t> version = PragmaInt(db, "PRAGMA user_version");
  if (!version.ok()) return version.status();
  absl::StatusOr<int64_t> tables =
      PragmaInt(db, "SELECT count(*) FROM sqlite_schema");
  if (!tables.ok()) return tables.status();
  if (*application_id != kApplicationId && (*version != 0 || *tables != 0)) {
    return absl::DataLossError(
        absl::StrCat(path, " is an SQLite database but not a futured journal"));
  }
  if (*version > SqliteJournal::kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " has journal schema version ", *version,
        ", newer than this futured's ", SqliteJournal::kSchemaVersion,
        ": run the futured that wrote it, or move the file away"));
  }
  if (absl::Status wal = SqliteExec(db, "PRAGMA journal_mode=WAL"); !wal.ok()) {
    return wal;
  }
  const char* synchronous = sync == SqliteJournal::Sync::kFull
                                ? "PRAGMA synchronous=FULL"
                                : "PRAGMA synchronous=NORMAL";
  if (absl::Status s = SqliteExec(db, synchronous); !s.ok()) return s;
  // After a checkpoint, the write-ahead log is cut back to this size.
  if (absl::Status s = SqliteExec(db, "PRAGMA journal_size_limit=67108864");
      !s.ok()) {
    return s;
  }
  for (int64_t v = *version; v < SqliteJournal::kSchemaVersion; ++v) {
    const std::string migration = absl::StrCat(
        "BEGIN IMMEDIATE;", kMigrations[v], "PRAGMA user_version=", v + 1,
        ";PRAGMA application_id=", kApplicationId, ";COMMIT;");
    if (absl::Status s = SqliteExec(db, migration.c_str()); !s.ok()) {
      SqliteExec(db, "ROLLBACK").IgnoreError();
      return s;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<FutureEnding>> ReadEnding(
    const SqliteStatement& row, FutureState state, const std::string& id) {
  if (state != FutureState::kFinished && state != FutureState::kCancelled) {
    return std::nullopt;
  }
  FutureEnding ending;
  if (std::optional<int64_t> start = row.OptionalInt(11)) {
    ending.start_time = absl::FromUnixNanos(*start);
  }
  ending.end_time = absl::FromUnixNanos(row.Int(12));
  if (state == FutureState::kCancelled) {
    ending.outcome = Cancelled{};
  } else if (!row.IsNull(14)) {
    TaskError error{.type = row.Text(14), .message = row.Text(15)};
    if (!row.IsNull(16) && !error.details.ParseFromString(row.Text(16))) {
      return absl::DataLossError(
          absl::StrCat("journal: future ", id, " has unreadable details"));
    }
    ending.outcome = std::move(error);
  } else {
    google::protobuf::Value value;
    if (!value.ParseFromString(row.Text(13))) {
      return absl::DataLossError(
          absl::StrCat("journal: future ", id, " has an unreadable value"));
    }
    ending.outcome = std::move(value);
  }
  return ending;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteJournal>> SqliteJournal::Open(
    Options options) {
  absl::StatusOr<int> lock_fd = LockDirectory(options.dir);
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
  if (absl::Status configured = Configure(db, options.sync, path);
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
  journal->writer_ = std::thread([j = journal.get()] { j->WriterLoop(); });
  return journal;
}

SqliteJournal::SqliteJournal(Options options, sqlite3* db, int lock_fd)
    : options_(std::move(options)),
      path_(absl::StrCat(options_.dir, "/futured.db")),
      db_(db),
      lock_fd_(lock_fd) {}

SqliteJournal::~SqliteJournal() {
  Close();
  insert_.reset();
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
      {&insert_,
       "INSERT INTO futures (id, principal, request_id, function, pool, args, "
       "submit_time, deadline, timeout, state, retry_policy) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?10)"},
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

absl::Status SqliteJournal::OpenReaderLocked() const {
  if (reader_ != nullptr) return absl::OkStatus();
  sqlite3* reader = nullptr;
  const int code =
      sqlite3_open_v2(path_.c_str(), &reader,
                      SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (code != SQLITE_OK) {
    absl::Status error =
        SqliteError(reader, code, absl::StrCat("cannot read ", path_));
    sqlite3_close_v2(reader);
    return error;
  }
  reader_ = reader;
  return absl::OkStatus();
}

absl::Status SqliteJournal::Recover(Recovered each) {
  // On the reader's connection: `each` may queue records (an interrupted
  // future's end, say), which the writer commits meanwhile on its own.
  absl::MutexLock lock(&read_mu_);
  if (absl::Status opened = OpenReaderLocked(); !opened.ok()) return opened;
  absl::StatusOr<std::unique_ptr<SqliteStatement>> select =
      SqliteStatement::Prepare(
          reader_,
          "SELECT id, principal, request_id, function, pool, args, "
          "submit_time, deadline, timeout, state, worker_pid, start_time, "
          "end_time, value, error_type, error_message, error_details, "
          "attempt, retry_policy, earlier_attempts "
          "FROM futures ORDER BY seq");
  if (!select.ok()) return select.status();
  SqliteStatement& row = **select;
  for (;;) {
    absl::StatusOr<bool> more = row.Step();
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
    JournaledFuture f;
    f.call = AcceptedCall{
        .id = row.Text(0),
        .principal = row.Text(1),
        .request_id = row.Text(2),
        .function = row.Text(3),
        .pool = row.Text(4),
        .args = row.Text(5),
        .submit_time = absl::FromUnixNanos(row.Int(6)),
        .deadline = row.IsNull(7) ? absl::InfiniteFuture()
                                  : absl::FromUnixNanos(row.Int(7)),
        .timeout = row.IsNull(8)
                       ? std::nullopt
                       : std::optional(absl::Nanoseconds(row.Int(8)))};
    const std::optional<FutureState> state =
        journal_ops::StateOfColumn(row.Int(9));
    if (!state) {
      return absl::DataLossError(absl::StrCat(
          "journal: future ", f.call.id, " has unknown state ", row.Int(9)));
    }
    f.state = *state;
    f.worker_pid = static_cast<int>(row.Int(10));
    if (std::optional<int64_t> start = row.OptionalInt(11)) {
      f.start_time = absl::FromUnixNanos(*start);
    }
    absl::StatusOr<std::optional<FutureEnding>> ending =
        ReadEnding(row, *state, f.call.id);
    if (!ending.ok()) return ending.status();
    f.ending = *std::move(ending);
    if (absl::Status retry = ReadRetry(row, f); !retry.ok()) return retry;
    each(f);
  }
}

absl::StatusOr<AcceptedCall> SqliteJournal::FindCall(
    absl::string_view id) const {
  absl::MutexLock lock(&read_mu_);
  if (absl::Status opened = OpenReaderLocked(); !opened.ok()) return opened;
  if (find_call_ == nullptr) {
    absl::StatusOr<std::unique_ptr<SqliteStatement>> find =
        SqliteStatement::Prepare(
            reader_,
            "SELECT principal, request_id, function, pool, args, "
            "submit_time, deadline, timeout FROM futures WHERE id = ?1");
    if (!find.ok()) return find.status();
    find_call_ = *std::move(find);
  }
  SqliteStatement& row = *find_call_;
  row.BindText(1, id);
  absl::StatusOr<bool> found = row.Step();
  absl::Cleanup reset = [&row] { row.Reset(); };
  if (!found.ok()) return found.status();
  if (!*found) {
    return absl::NotFoundError(absl::StrCat("the journal has no future ", id));
  }
  return AcceptedCall{
      .id = std::string(id),
      .principal = row.Text(0),
      .request_id = row.Text(1),
      .function = row.Text(2),
      .pool = row.Text(3),
      .args = row.Text(4),
      .submit_time = absl::FromUnixNanos(row.Int(5)),
      .deadline = row.IsNull(6) ? absl::InfiniteFuture()
                                : absl::FromUnixNanos(row.Int(6)),
      .timeout = row.IsNull(7) ? std::nullopt
                               : std::optional(absl::Nanoseconds(row.Int(7)))};
}

void SqliteJournal::Accept(std::vector<AcceptedCall> calls,
                           Committed committed) {
  Enqueue(journal_ops::AcceptOp{std::move(calls), std::move(committed)});
}

void SqliteJournal::Start(std::vector<std::string> ids, absl::Time start_time,
                          int worker_pid, Committed committed) {
  Enqueue(journal_ops::StartOp{std::move(ids), start_time, worker_pid,
                               std::move(committed)});
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

std::vector<SqliteJournal::Op> SqliteJournal::TakeBatch() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &SqliteJournal::HasWorkLocked));
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
  for (;;) {
    std::vector<Op> batch = TakeBatch();
    if (batch.empty()) break;  // closing, and nothing is left
    const absl::Time began = absl::Now();
    const absl::Status status = Commit(batch);
    const absl::Duration took = absl::Now() - began;
    {
      absl::MutexLock lock(&mu_);
      if (status.ok()) {
        ++stats_.commits;
        for (const Op& op : batch) stats_.records += RecordsIn(op);
      } else {
        ++stats_.failed_commits;
      }
      stats_.commit_time += took;
    }
    Acknowledge(batch, status);
  }
}

absl::Status SqliteJournal::Commit(std::vector<Op>& ops) {
  if (absl::Status begun = SqliteExec(db_, "BEGIN IMMEDIATE"); !begun.ok()) {
    return begun;
  }
  for (Op& op : ops) {
    absl::Status written = std::visit([this](auto& o) { return Write(o); }, op);
    if (!written.ok()) {
      SqliteExec(db_, "ROLLBACK").IgnoreError();
      return written;
    }
  }
  absl::Status committed = SqliteExec(db_, "COMMIT");
  if (!committed.ok()) SqliteExec(db_, "ROLLBACK").IgnoreError();
  return committed;
}

absl::Status SqliteJournal::Write(journal_ops::AcceptOp& op) {
  SqliteStatement& s = *insert_;
  for (const AcceptedCall& call : op.calls) {
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
    if (call.retry_policy) s.BindBlob(10, SerializePolicy(*call.retry_policy));
    if (absl::Status run = s.Run(); !run.ok()) return run;
  }
  return absl::OkStatus();
}

absl::Status SqliteJournal::Write(journal_ops::StartOp& op) {
  SqliteStatement& s = *start_;
  for (const std::string& id : op.ids) {
    s.BindText(1, id);
    s.BindInt(2, absl::ToUnixNanos(op.start_time));
    s.BindInt(3, op.worker_pid);
    if (absl::Status run = s.Run(); !run.ok()) return run;
  }
  return absl::OkStatus();
}

absl::Status SqliteJournal::Write(journal_ops::EndOp& op) {
  SqliteStatement& s = *end_;
  s.BindText(1, op.id);
  s.BindInt(2, journal_ops::StateColumn(op.state));
  s.BindOptionalInt(
      3, op.ending.start_time
             ? std::optional(absl::ToUnixNanos(*op.ending.start_time))
             : std::nullopt);
  s.BindInt(4, absl::ToUnixNanos(op.ending.end_time));
  if (const auto* value =
          std::get_if<google::protobuf::Value>(&op.ending.outcome)) {
    s.BindBlob(5, value->SerializeAsString());
  } else if (const auto* error = std::get_if<TaskError>(&op.ending.outcome)) {
    s.BindText(6, error->type);
    s.BindText(7, error->message);
    if (error->details.kind_case() != google::protobuf::Value::KIND_NOT_SET) {
      s.BindBlob(8, error->details.SerializeAsString());
    }
  }
  return s.Run();
}

absl::Status SqliteJournal::Write(journal_ops::UnstartOp& op) {
  return WriteEach(*unstart_, op.ids);
}

absl::Status SqliteJournal::Write(journal_ops::RetryOp& op) {
  SqliteStatement& s = *retry_;
  s.BindText(1, op.id);
  s.BindInt(2, op.attempt);
  s.BindBlob(3, SerializeAttempts(op.earlier));
  return s.Run();
}

absl::Status SqliteJournal::Write(journal_ops::ForgetOp& op) {
  return WriteEach(*forget_, op.ids);
}

absl::Status SqliteJournal::WriteEach(SqliteStatement& statement,
                                      const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    statement.BindText(1, id);
    if (absl::Status run = statement.Run(); !run.ok()) return run;
  }
  return absl::OkStatus();
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
