#include "server/store/sqlite_schema.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iterator>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/store/sqlite_statement.h"

namespace futured::server::sqlite_schema {
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
    // 3: the log. Each commit's records go into one row (a
    // futured.internal.JournalLogRow) and are folded into `futures` later,
    // in the background; a row is deleted once folded.
    R"sql(
CREATE TABLE log (
  seq INTEGER PRIMARY KEY,
  records BLOB NOT NULL
);
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

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
absl::StatusOr<int64_t> PragmaInt(sqlite3* db, const char* sql) {
  absl::StatusOr<std::unique_ptr<SqliteStatement>> statement =
      SqliteStatement::Prepare(db, sql);
  if (!statement.ok()) return statement.status();
  absl::StatusOr<bool> row = (*statement)->Step();
  if (!row.ok()) return row.status();
  return *row ? (*statement)->Int(0) : 0;
}

// Sets the pragmas and brings the schema up to date.
}  // namespace

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

absl::Status Configure(sqlite3* db, bool full_sync, const std::string& path) {
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
  if (*version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " has journal schema version ", *version,
                     ", newer than this futured's ", kSchemaVersion,
                     ": run the futured that wrote it, or move the file away"));
  }
  if (absl::Status wal = SqliteExec(db, "PRAGMA journal_mode=WAL"); !wal.ok()) {
    return wal;
  }
  const char* synchronous =
      full_sync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
  if (absl::Status s = SqliteExec(db, synchronous); !s.ok()) return s;
  // After a checkpoint, the write-ahead log is cut back to this size.
  if (absl::Status s = SqliteExec(db, "PRAGMA journal_size_limit=67108864");
      !s.ok()) {
    return s;
  }
  for (int64_t v = *version; v < kSchemaVersion; ++v) {
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

}  // namespace futured::server::sqlite_schema
