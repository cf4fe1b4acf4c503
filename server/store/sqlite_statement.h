// A prepared SQLite statement, and SQLite's errors as absl::Status.
#ifndef FUTURED_SERVER_STORE_SQLITE_STATEMENT_H_
#define FUTURED_SERVER_STORE_SQLITE_STATEMENT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct sqlite3;
struct sqlite3_stmt;

namespace futured::server {

// SQLite's result `code` (with the database's message) as a Status:
// RESOURCE_EXHAUSTED for a full disk, DATA_LOSS for a corrupt file or one
// that is not a database, PERMISSION_DENIED for a read-only one,
// UNAVAILABLE for I/O errors and a busy database, INTERNAL otherwise.
// `what` says what was being done.
absl::Status SqliteError(sqlite3* db, int code, absl::string_view what);

// Runs `sql` (one or more statements, no results wanted).
absl::Status SqliteExec(sqlite3* db, const char* sql);

// One prepared statement: bind by position (from 1), Step(), read columns
// (from 0), Reset() for the next use. Owned by one thread at a time.
class SqliteStatement {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteStatement>> Prepare(
      sqlite3* db, const char* sql);
  ~SqliteStatement();
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  void BindInt(int index, int64_t value);
  void BindText(int index, absl::string_view text);   // copied
  void BindBlob(int index, absl::string_view bytes);  // copied
  void BindNull(int index);
  // Binds `value`, or NULL when unset.
  void BindOptionalInt(int index, std::optional<int64_t> value);

  // True when a row is ready, false when done; an error otherwise.
  absl::StatusOr<bool> Step();
  // Step() for a statement that returns no rows.
  absl::Status Run();
  void Reset();

  bool IsNull(int column) const;
  int64_t Int(int column) const;
  std::string Text(int column) const;  // text or blob, as bytes
  // Text() without the copy: valid until the next Step() or Reset().
  absl::string_view TextView(int column) const;
  std::optional<int64_t> OptionalInt(int column) const;

 private:
  SqliteStatement(sqlite3* db, sqlite3_stmt* statement)
      : db_(db), statement_(statement) {}

  sqlite3* const db_;
  sqlite3_stmt* const statement_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_STORE_SQLITE_STATEMENT_H_
