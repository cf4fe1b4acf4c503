// SqliteJournal's state directory and database file: the directory's lock,
// the pragmas, and the schema's versioned migrations.
#ifndef FUTURED_SERVER_STORE_SQLITE_SCHEMA_H_
#define FUTURED_SERVER_STORE_SQLITE_SCHEMA_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct sqlite3;

namespace futured::server::sqlite_schema {

// The version of the schema this build writes (PRAGMA user_version).
// 2 added retry policies (each future's policy, attempt and failed
// attempts); 3 the log table, where each commit's records go before they
// are folded into the futures table.
inline constexpr int kSchemaVersion = 3;

// Creates `dir` if missing and takes its lock file (futured.lock, flock,
// holding the pid): the file descriptor that holds it. FAILED_PRECONDITION
// when another process holds it.
absl::StatusOr<int> LockDirectory(const std::string& dir);

// Checks that `db` (the file `path`) is a futured journal of a schema this
// build knows, sets the pragmas (write-ahead log; synchronous FULL or
// NORMAL) and migrates the schema up to kSchemaVersion.
absl::Status Configure(sqlite3* db, bool full_sync, const std::string& path);

}  // namespace futured::server::sqlite_schema

#endif  // FUTURED_SERVER_STORE_SQLITE_SCHEMA_H_
