// A throw-away PostgreSQL server for tests: the real one, never a mock.
#ifndef FUTURED_TESTS_SUPPORT_POSTGRES_SERVER_H_
#define FUTURED_TESTS_SUPPORT_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace futured::testing {

// One PostgreSQL server (Debian's `postgresql` package: initdb, postgres)
// in a fresh temporary directory: initdb'd there, listening on a unix socket
// in that directory only (no TCP), with trust authentication for its
// superuser "postgres". When the test runs as root, the server runs as the
// `postgres` user (PostgreSQL refuses root). The destructor stops the server
// (immediate shutdown) and removes the directory. Not thread-safe; owned by
// one test, which must not fork while Start() or Stop() run.
class PostgresServer {
 public:
  // initdb, then Resume(). FAILED_PRECONDITION, saying what to install, when
  // the server's binaries are missing: a test needing PostgreSQL fails then,
  // it is never skipped.
  static absl::StatusOr<std::unique_ptr<PostgresServer>> Start();

  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Stops the server; its data stays for Resume(). `immediate`: as if it
  // crashed (SIGQUIT, no checkpoint), else a fast shutdown (SIGINT). Either
  // way, clients' connections break. Waits at most 30 s, then SIGKILLs.
  absl::Status Stop(bool immediate = false);

  // Starts the server on its data directory and waits (at most 30 s) until
  // it accepts connections.
  absl::Status Resume();

  // Creates a new, empty database and returns its libpq connection string.
  absl::StatusOr<std::string> CreateDatabase();

  // Runs `sql` (one or more statements) in database `conninfo`.
  static absl::Status Execute(const std::string& conninfo,
                              const std::string& sql);

  // A connection string for database `dbname` of this server.
  std::string ConnInfo(const std::string& dbname) const;

  const std::string& socket_dir() const { return dir_; }
  pid_t pid() const { return pid_; }

 private:
  PostgresServer() = default;

  std::string bindir_;
  std::string dir_;  // holds data/, the socket and postgres.log
  uid_t uid_ = 0;    // the server's user and group
  gid_t gid_ = 0;
  bool switch_user_ = false;
  pid_t pid_ = -1;
  int next_database_ = 0;
};

}  // namespace futured::testing

#endif  // FUTURED_TESTS_SUPPORT_POSTGRES_SERVER_H_
