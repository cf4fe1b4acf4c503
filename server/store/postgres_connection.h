// One libpq connection to PostgreSQL, with errors as absl statuses.
#ifndef FUTURED_SERVER_STORE_POSTGRES_CONNECTION_H_
#define FUTURED_SERVER_STORE_POSTGRES_CONNECTION_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct pg_conn;
struct pg_result;

namespace futured::server {

// A statement's parameter in text form; unset is SQL NULL.
using PgParam = std::optional<std::string>;

// A statement and its parameters.
struct PgStatement {
  std::string sql;
  std::vector<PgParam> params = {};
};

// A notification that arrived for a channel the connection LISTENs to.
struct PgNotification {
  std::string channel;
  std::string payload;
};

// The rows a statement returned, read as text. Owns its PGresult.
class PgRows {
 public:
  explicit PgRows(pg_result* result) : result_(result) {}
  ~PgRows();
  PgRows(PgRows&& other) noexcept : result_(other.result_) {
    other.result_ = nullptr;
  }
  PgRows& operator=(PgRows&&) = delete;
  PgRows(const PgRows&) = delete;

  const pg_result* result() const { return result_; }
  int size() const;
  bool IsNull(int row, int column) const;
  std::string Text(int row, int column) const;
  int64_t Int(int row, int column) const;
  std::optional<int64_t> OptionalInt(int row, int column) const;
  // A bytea column (hex output, PostgreSQL's default) decoded.
  std::string Bytes(int row, int column) const;

 private:
  pg_result* result_;
};

// The status a failed statement or connection maps to: a lost or refused
// connection, a server shutting down or starting is UNAVAILABLE; a full disk
// or too many connections RESOURCE_EXHAUSTED; a refused login or privilege
// PERMISSION_DENIED; a serialization failure or deadlock ABORTED; a unique
// key violated ALREADY_EXISTS; an error raised with SQLSTATE `FUT01`
// (futured's fence) FAILED_PRECONDITION; anything else INTERNAL. The
// message starts with `what`.
absl::Status PgStatus(const pg_conn* conn, const pg_result* result,
                      absl::string_view what);

// A SQL array literal of `values` for a text-typed parameter, e.g. '{"a",NULL}'
// (cast it in SQL: $1::text[]). Each element is quoted and escaped.
std::string PgArray(const std::vector<PgParam>& values);

// `bytes` as a bytea literal in hex form ("\x0a0b").
std::string PgBytea(absl::string_view bytes);

// A connection, used by one thread at a time (not thread-safe). Statements
// take text parameters, so that one code path serves every type.
class PgConnection {
 public:
  // Connects with `conninfo` (a libpq connection string or URI) and, if
  // not empty, `password`. `application_name` names the connection in
  // pg_stat_activity. UNAVAILABLE (or PERMISSION_DENIED for a refused
  // login) with libpq's message when it cannot.
  static absl::StatusOr<std::unique_ptr<PgConnection>> Connect(
      const std::string& conninfo, const std::string& password,
      const std::string& application_name);

  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Whether the connection is still usable: libpq has not seen it break, no
  // statement failed for want of it (UNAVAILABLE), and the server has not
  // closed it since (a non-blocking read finds no end of file).
  bool Usable();
  // Replaces the connection with a new one, with the same parameters.
  absl::Status Reconnect();

  // Runs one statement (one round trip). Its rows, or PgStatus()'s error.
  absl::StatusOr<PgRows> Run(const PgStatement& statement);
  // Runs `sql` (several statements, no parameters) in one round trip.
  absl::Status RunScript(const std::string& sql);
  // Runs `statements` in libpq's pipeline mode: all are sent, then one sync
  // awaited, so the lot costs one round trip. They should begin with BEGIN
  // and end with COMMIT; after the first that fails, the others are
  // skipped and the transaction is rolled back. The first error, or OK.
  // With `kept`, the rows of statements[`keep`] go there (when it ran).
  absl::Status RunPipeline(const std::vector<PgStatement>& statements,
                           size_t keep = 0,
                           std::optional<PgRows>* kept = nullptr);

  // The socket to poll() for the server's input; -1 without a connection.
  int Socket() const;
  // Reads what the server sent (without blocking) and takes the
  // notifications that came, oldest first. A failed read marks the
  // connection broken (Usable() is then false).
  std::vector<PgNotification> TakeNotifications();

  // "host/db": where the connection goes, without credentials.
  std::string Target() const;

 private:
  PgConnection(pg_conn* conn, std::string conninfo, std::string password,
               std::string application_name)
      : conninfo_(std::move(conninfo)),
        password_(std::move(password)),
        application_name_(std::move(application_name)),
        conn_(conn) {}

  // A new libpq connection, or why there is none.
  static absl::StatusOr<pg_conn*> Open(const std::string& conninfo,
                                       const std::string& password,
                                       const std::string& application_name);
  // libpq's own view of the connection.
  bool Up() const;
  // `status`, noting that the connection is broken if it is UNAVAILABLE.
  absl::Status Noted(absl::Status status);

  const std::string conninfo_;
  const std::string password_;
  const std::string application_name_;
  pg_conn* conn_;
  bool broken_ = false;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_STORE_POSTGRES_CONNECTION_H_
