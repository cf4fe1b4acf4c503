#include "tests/support/postgres_server.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace futured::testing {
namespace {

// The socket's port number: it names the socket file, and each server has
// its own directory, so every server can use the same one.
constexpr int kPort = 5432;

// Where Debian's postgresql package puts initdb and postgres; set by CMake
// (FUTURED_POSTGRES_BINDIR), overridable by the environment variable of the
// same name.
std::string BinDir() {
  if (const char* env = std::getenv("FUTURED_POSTGRES_BINDIR");
      env != nullptr && *env != '\0') {
    return env;
  }
  return FUTURED_POSTGRES_BINDIR;
}

// The last lines of the server's log, for an error message.
std::string LogTail(const std::string& dir) {
  std::ifstream in(dir + "/postgres.log");
  std::stringstream text;
  text << in.rdbuf();
  std::string log = text.str();
  if (log.size() > 2000) log = log.substr(log.size() - 2000);
  return log;
}

// Waits at most `limit` for `pid` to exit; its wait status, or -1.
int WaitFor(pid_t pid, absl::Duration limit) {
  const absl::Time give_up = absl::Now() + limit;
  for (;;) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return status;
    if (done < 0 && errno != EINTR) return -1;
    if (absl::Now() > give_up) return -1;
    absl::SleepFor(absl::Milliseconds(10));
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  std::unique_ptr<PostgresServer> server(new PostgresServer());
  server->bindir_ = BinDir();
  const std::string initdb = server->bindir_ + "/initdb";
  if (server->bindir_.empty() || access(initdb.c_str(), X_OK) != 0 ||
      access((server->bindir_ + "/postgres").c_str(), X_OK) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "PostgreSQL's server binaries (initdb, postgres) are not installed (",
        server->bindir_.empty() ? "none found in /usr/lib/postgresql/*/bin"
                                : server->bindir_,
        "): install Debian's postgresql package (apt-get install postgresql; "
        ".ci/run does), or name their directory in FUTURED_POSTGRES_BINDIR"));
  }
  char dir[] = "/tmp/futured_pg.XXXXXX";
  if (mkdtemp(dir) == nullptr) {
    return absl::InternalError(absl::StrCat("mkdtemp: ", strerror(errno)));
  }
  server->dir_ = dir;
  server->uid_ = getuid();
  server->gid_ = getgid();
  if (geteuid() == 0) {
    // PostgreSQL refuses to run as root.
    const passwd* user = getpwnam("postgres");
    if (user == nullptr) {
      return absl::FailedPreconditionError(
          "running as root, but there is no postgres user to run PostgreSQL "
          "as (Debian's postgresql package creates it)");
    }
    server->uid_ = user->pw_uid;
    server->gid_ = user->pw_gid;
    server->switch_user_ = true;
    if (chown(dir, server->uid_, server->gid_) != 0) {
      return absl::InternalError(absl::StrCat("chown: ", strerror(errno)));
    }
  }
  const std::string data = server->dir_ + "/data";
  pid_t pid = -1;
  {
    // Arguments built before fork(): the child only switches user and execs.
    std::vector<std::string> args = {
        initdb,         "--pgdata=" + data, "--username=postgres",
        "--auth=trust", "--encoding=UTF8",  "--locale=C",
        "--no-sync"};
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const std::string log = server->dir_ + "/initdb.log";
    const int log_fd =
        open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0 || (server->switch_user_ &&
                       fchown(log_fd, server->uid_, server->gid_) != 0)) {
      return absl::InternalError(
          absl::StrCat("open ", log, ": ", strerror(errno)));
    }
    pid = fork();
    if (pid == 0) {
      dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
      if (server->switch_user_ &&
          (setgroups(0, nullptr) != 0 || setgid(server->gid_) != 0 ||
           setuid(server->uid_) != 0)) {
        _exit(126);
      }
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(log_fd);
  }
  if (pid < 0)
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  const int status = WaitFor(pid, absl::Seconds(120));
  if (status == -1) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::ifstream in(server->dir_ + "/initdb.log");
    std::stringstream text;
    text << in.rdbuf();
    return absl::InternalError(
        absl::StrCat("initdb failed (wait status ", status, "): ", text.str()));
  }
  if (absl::Status resumed = server->Resume(); !resumed.ok()) return resumed;
  return server;
}

PostgresServer::~PostgresServer() {
  Stop(/*immediate=*/true).IgnoreError();
  if (!dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
}

absl::Status PostgresServer::Resume() {
  if (pid_ > 0) return absl::FailedPreconditionError("already running");
  std::vector<std::string> args = {
      bindir_ + "/postgres", "-D", dir_ + "/data", "-k", dir_, "-p",
      absl::StrCat(kPort), "-c", "listen_addresses=",
      // A test's data need not survive a power loss.
      "-c", "fsync=off", "-c", "full_page_writes=off", "-c",
      "shared_buffers=16MB", "-c", "max_connections=40", "-c",
      "log_min_messages=warning"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  const std::string log = dir_ + "/postgres.log";
  const int log_fd =
      open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0 || (switch_user_ && fchown(log_fd, uid_, gid_) != 0)) {
    return absl::InternalError(
        absl::StrCat("open ", log, ": ", strerror(errno)));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    if (switch_user_ && (setgroups(0, nullptr) != 0 || setgid(gid_) != 0 ||
                         setuid(uid_) != 0)) {
      _exit(126);
    }
    // After the user switch, which clears it: the server ends with the test
    // even if the test crashes.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(125);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(log_fd);
  if (pid < 0)
    return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  pid_ = pid;
  const std::string conninfo = ConnInfo("postgres");
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  for (;;) {
    if (PQping(conninfo.c_str()) == PQPING_OK) return absl::OkStatus();
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(
          absl::StrCat("postgres exited at start (wait status ", status,
                       "): ", LogTail(dir_)));
    }
    if (absl::Now() > give_up) {
      Stop(/*immediate=*/true).IgnoreError();
      return absl::DeadlineExceededError(absl::StrCat(
          "postgres did not accept connections within 30 s: ", LogTail(dir_)));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::Status PostgresServer::Stop(bool immediate) {
  if (pid_ <= 0) return absl::OkStatus();
  kill(pid_, immediate ? SIGQUIT : SIGINT);
  int status = WaitFor(pid_, absl::Seconds(30));
  if (status == -1) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  // After an immediate stop the server's children may still be leaving;
  // the next Resume() waits for them through PostgreSQL's own lock file.
  return absl::OkStatus();
}

std::string PostgresServer::ConnInfo(const std::string& dbname) const {
  return absl::StrCat("host=", dir_, " port=", kPort,
                      " user=postgres dbname=", dbname);
}

absl::StatusOr<std::string> PostgresServer::CreateDatabase() {
  const std::string name = absl::StrCat("test", ++next_database_);
  if (absl::Status created =
          Execute(ConnInfo("postgres"), absl::StrCat("CREATE DATABASE ", name));
      !created.ok()) {
    return created;
  }
  return ConnInfo(name);
}

absl::Status PostgresServer::Execute(const std::string& conninfo,
                                     const std::string& sql) {
  PGconn* conn = PQconnectdb(conninfo.c_str());
  absl::Status status;
  if (PQstatus(conn) != CONNECTION_OK) {
    status = absl::UnavailableError(
        absl::StrCat("cannot connect: ", PQerrorMessage(conn)));
  } else {
    PGresult* result = PQexec(conn, sql.c_str());
    const ExecStatusType code = PQresultStatus(result);
    if (code != PGRES_COMMAND_OK && code != PGRES_TUPLES_OK) {
      status = absl::InternalError(
          absl::StrCat(sql, ": ", PQresultErrorMessage(result)));
    }
    PQclear(result);
  }
  PQfinish(conn);
  return status;
}

}  // namespace futured::testing
