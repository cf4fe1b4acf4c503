#include "server/store/postgres_connection.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace futured::server {
namespace {

// libpq's messages end with a newline.
std::string Trimmed(const char* message) {
  return std::string(
      absl::StripTrailingAsciiWhitespace(message != nullptr ? message : ""));
}

absl::StatusCode CodeOfSqlState(absl::string_view state) {
  if (state == "FUT01") return absl::StatusCode::kFailedPrecondition;
  if (state == "23505") return absl::StatusCode::kAlreadyExists;
  if (state == "40001" || state == "40P01") return absl::StatusCode::kAborted;
  if (state == "42501") return absl::StatusCode::kPermissionDenied;
  // Class 08: connection exception; 57P01-57P03: the server shuts down,
  // crashed or is starting.
  if (absl::StartsWith(state, "08") || state == "57P01" || state == "57P02" ||
      state == "57P03") {
    return absl::StatusCode::kUnavailable;
  }
  if (absl::StartsWith(state, "28")) return absl::StatusCode::kPermissionDenied;
  if (absl::StartsWith(state, "53")) {
    return absl::StatusCode::kResourceExhausted;
  }
  return absl::StatusCode::kInternal;
}

}  // namespace

absl::Status PgStatus(const pg_conn* conn, const pg_result* result,
                      absl::string_view what) {
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    return absl::UnavailableError(absl::StrCat(
        what, ": connection to PostgreSQL lost: ",
        Trimmed(conn != nullptr ? PQerrorMessage(conn) : "out of memory")));
  }
  const char* state = result != nullptr
                          ? PQresultErrorField(result, PG_DIAG_SQLSTATE)
                          : nullptr;
  const std::string message = Trimmed(
      result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(conn));
  if (state == nullptr) {
    // No answer from the server at all: the connection broke under us.
    return absl::UnavailableError(
        absl::StrCat(what, ": PostgreSQL did not answer: ", message));
  }
  return absl::Status(
      CodeOfSqlState(state),
      absl::StrCat(what, ": ", message, " (SQLSTATE ", state, ")"));
}

std::string PgArray(const std::vector<PgParam>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    if (!values[i]) {
      out += "NULL";
      continue;
    }
    out += '"';
    for (char c : *values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

std::string PgBytea(absl::string_view bytes) {
  return absl::StrCat("\\x", absl::BytesToHexString(bytes));
}

PgRows::~PgRows() { PQclear(result_); }

int PgRows::size() const { return PQntuples(result_); }

bool PgRows::IsNull(int row, int column) const {
  return PQgetisnull(result_, row, column) != 0;
}

std::string PgRows::Text(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column),
                     PQgetlength(result_, row, column));
}

int64_t PgRows::Int(int row, int column) const {
  return std::strtoll(PQgetvalue(result_, row, column), nullptr, 10);
}

std::optional<int64_t> PgRows::OptionalInt(int row, int column) const {
  if (IsNull(row, column)) return std::nullopt;
  return Int(row, column);
}

std::string PgRows::Bytes(int row, int column) const {
  size_t length = 0;
  unsigned char* raw = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(result_, row, column)),
      &length);
  if (raw == nullptr) return "";
  std::string bytes(reinterpret_cast<const char*>(raw), length);
  PQfreemem(raw);
  return bytes;
}

absl::StatusOr<pg_conn*> PgConnection::Open(
    const std::string& conninfo, const std::string& password,
    const std::string& application_name) {
  // Later keywords win: the defaults come before the user's string, and
  // the password (never part of that string) after it.
  std::vector<const char*> keywords = {"connect_timeout", "application_name",
                                       "dbname"};
  std::vector<const char*> values = {"5", application_name.c_str(),
                                     conninfo.c_str()};
  if (!password.empty()) {
    keywords.push_back("password");
    values.push_back(password.c_str());
  }
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  pg_conn* conn =
      PQconnectdbParams(keywords.data(), values.data(), /*expand_dbname=*/1);
  if (conn == nullptr) {
    return absl::ResourceExhaustedError("libpq: out of memory");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    const std::string message = Trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    if (absl::StrContains(message, "authentication failed") ||
        absl::StrContains(message, "password")) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot log in to PostgreSQL: ", message));
    }
    return absl::UnavailableError(
        absl::StrCat("cannot connect to PostgreSQL: ", message));
  }
  // Notices ("relation ... already exists, skipping") are not errors, and
  // libpq would print them on stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return conn;
}

absl::StatusOr<std::unique_ptr<PgConnection>> PgConnection::Connect(
    const std::string& conninfo, const std::string& password,
    const std::string& application_name) {
  absl::StatusOr<pg_conn*> conn = Open(conninfo, password, application_name);
  if (!conn.ok()) return conn.status();
  return std::unique_ptr<PgConnection>(
      new PgConnection(*conn, conninfo, password, application_name));
}

PgConnection::~PgConnection() { PQfinish(conn_); }

bool PgConnection::Up() const { return PQstatus(conn_) == CONNECTION_OK; }

bool PgConnection::Usable() {
  if (broken_ || !Up()) return false;
  // Reads what the server sent while idle: its end of file if it went away.
  if (PQconsumeInput(conn_) == 0) broken_ = true;
  return !broken_ && Up();
}

absl::Status PgConnection::Reconnect() {
  absl::StatusOr<pg_conn*> conn = Open(conninfo_, password_, application_name_);
  if (!conn.ok()) return conn.status();
  PQfinish(conn_);
  conn_ = *conn;
  broken_ = false;
  return absl::OkStatus();
}

absl::Status PgConnection::Noted(absl::Status status) {
  if (absl::IsUnavailable(status)) broken_ = true;
  return status;
}

namespace {

// PQsendQueryParams/PQexecParams's arrays for `statement`.
struct ParamArrays {
  explicit ParamArrays(const PgStatement& statement) {
    values.reserve(statement.params.size());
    for (const PgParam& param : statement.params) {
      values.push_back(param ? param->c_str() : nullptr);
    }
  }
  int size() const { return static_cast<int>(values.size()); }
  std::vector<const char*> values;
};

bool Succeeded(const pg_result* result) {
  if (result == nullptr) return false;
  const ExecStatusType status = PQresultStatus(result);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

// The first words of a statement, to name it in an error.
std::string Head(const std::string& sql) {
  std::string head = std::string(absl::StripLeadingAsciiWhitespace(sql));
  if (head.size() > 40) head = head.substr(0, 40) + "...";
  for (char& c : head) {
    if (c == '\n') c = ' ';
  }
  return head;
}

}  // namespace

absl::StatusOr<PgRows> PgConnection::Run(const PgStatement& statement) {
  const ParamArrays params(statement);
  PgRows rows(PQexecParams(conn_, statement.sql.c_str(), params.size(), nullptr,
                           params.values.data(), nullptr, nullptr,
                           /*resultFormat=*/0));
  if (!Succeeded(rows.result())) {
    return Noted(PgStatus(conn_, rows.result(), Head(statement.sql)));
  }
  return rows;
}

absl::Status PgConnection::RunScript(const std::string& sql) {
  const PgRows rows(PQexec(conn_, sql.c_str()));
  if (!Succeeded(rows.result())) {
    return Noted(PgStatus(conn_, rows.result(), Head(sql)));
  }
  return absl::OkStatus();
}

absl::Status PgConnection::RunPipeline(
    const std::vector<PgStatement>& statements, size_t keep,
    std::optional<PgRows>* kept) {
  if (PQenterPipelineMode(conn_) != 1) {
    return Noted(PgStatus(conn_, nullptr, "entering pipeline mode"));
  }
  absl::Status status;
  size_t sent = 0;
  for (const PgStatement& statement : statements) {
    const ParamArrays params(statement);
    if (PQsendQueryParams(conn_, statement.sql.c_str(), params.size(), nullptr,
                          params.values.data(), nullptr, nullptr, 0) != 1) {
      status = PgStatus(conn_, nullptr, Head(statement.sql));
      break;
    }
    ++sent;
  }
  if (PQpipelineSync(conn_) != 1 && status.ok()) {
    status = PgStatus(conn_, nullptr, "pipeline sync");
  }
  // One result (then a null) per statement sent, then the sync's.
  for (size_t i = 0; i < sent && Up(); ++i) {
    while (pg_result* result = PQgetResult(conn_)) {
      if (status.ok() && !Succeeded(result) &&
          PQresultStatus(result) != PGRES_PIPELINE_ABORTED) {
        status = PgStatus(conn_, result, Head(statements[i].sql));
      }
      if (kept != nullptr && i == keep && !kept->has_value() &&
          PQresultStatus(result) == PGRES_TUPLES_OK) {
        kept->emplace(result);
        continue;
      }
      PQclear(result);
    }
  }
  // The sync's result comes next; a few stray nulls at most before it.
  for (int nulls = 0; nulls < 3 && Up();) {
    pg_result* result = PQgetResult(conn_);
    if (result == nullptr) {
      ++nulls;
      continue;
    }
    const bool synced = PQresultStatus(result) == PGRES_PIPELINE_SYNC;
    PQclear(result);
    if (synced) break;
  }
  if (!Up() && status.ok()) status = PgStatus(conn_, nullptr, "pipeline");
  // Results left uncollected (the connection broke mid-way) keep it in
  // pipeline mode: it is of no more use.
  if (PQexitPipelineMode(conn_) != 1) broken_ = true;
  return Noted(status);
}

int PgConnection::Socket() const { return PQsocket(conn_); }

std::vector<PgNotification> PgConnection::TakeNotifications() {
  std::vector<PgNotification> notifications;
  if (broken_ || !Up()) return notifications;
  if (PQconsumeInput(conn_) == 0) broken_ = true;
  while (PGnotify* notify = PQnotifies(conn_)) {
    notifications.push_back({notify->relname, notify->extra});
    PQfreemem(notify);
  }
  return notifications;
}

std::string PgConnection::Target() const {
  return absl::StrCat(PQhost(conn_), "/", PQdb(conn_));
}

}  // namespace futured::server
