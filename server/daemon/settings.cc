// futured's flags and their conversion into Settings (settings.h).
#include "server/daemon/settings.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/marshalling.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/repeated_flag.h"
#include "server/daemon/config.h"
#include "server/daemon/grpc_log.h"
#include "server/daemon/version.h"
#include "server/engine/engine.h"
#include "server/rpc/executor_service.h"
#include "server/rpc/server_security.h"
#include "server/store/postgres_journal.h"
#include "server/task/plugin_loader.h"
#include "server/tasks/builtin_tasks.h"
#include "server/tasks/exec_allow_list.h"
#include "server/tasks/exec_task.h"
#include "server/worker/worker_user.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "address to serve on: host:port (port 0 picks a free port) or "
          "unix:/path/to/socket");
ABSL_FLAG(std::string, unix_socket_mode, "",
          "permissions of a unix: --listen socket, in octal (e.g. 0660: "
          "owner and group may connect); empty: as the umask leaves them");
ABSL_FLAG(int, threads,
          std::min(32,
                   static_cast<int>(std::thread::hardware_concurrency()) + 4),
          "worker threads of the thread pool (default min(32, cores + 4), as "
          "Python's ThreadPoolExecutor)");
ABSL_FLAG(int64_t, queue_capacity, 100000,
          "futures the thread pool may queue; beyond it Submit is "
          "RESOURCE_EXHAUSTED");
ABSL_FLAG(absl::Duration, retention, absl::Hours(1),
          "how long a finished future is kept before it is forgotten");
ABSL_FLAG(int64_t, max_ids_per_call, 10000,
          "future IDs one AsCompleted, Wait or Release call may name");
ABSL_FLAG(int64_t, max_map_inputs, 100000, "inputs one Map call may carry");
ABSL_FLAG(int, max_message_bytes, 4 << 20,
          "largest request or response message, in bytes");
ABSL_FLAG(int, max_arg_depth, 32,
          "lists or objects one call's arguments may nest (deeper: "
          "INVALID_ARGUMENT); protobuf refuses more than 49 anyway");
ABSL_FLAG(int64_t, max_arg_bytes, 1 << 20,
          "encoded bytes of one call's arguments (Submit, each SubmitBatch "
          "item, each Map input, Run); larger: RESOURCE_EXHAUSTED");
ABSL_FLAG(absl::Duration, shutdown_grace, absl::Seconds(5),
          "on SIGTERM/SIGINT, how long running tasks may go on before they "
          "are cancelled");
ABSL_FLAG(absl::Duration, cancel_grace, absl::Seconds(2),
          "how long Cancel waits for a running task to stop before answering");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error");
ABSL_FLAG(int, processes,
          std::max(1, static_cast<int>(std::thread::hardware_concurrency())),
          "worker processes of the process pool (default: cores, as Python's "
          "ProcessPoolExecutor)");
ABSL_FLAG(int64_t, process_queue_capacity, 100000,
          "futures the process pool may queue");
ABSL_FLAG(std::vector<std::string>, pools, {},
          "extra pools, comma-separated name:kind:workers (kind thread or "
          "process), e.g. --pools=io:thread:64,cpu:process:2; queue capacity "
          "and limits as for the default pool of that kind");
ABSL_FLAG(int64_t, max_tasks_per_child, 0,
          "tasks a worker process runs before it is replaced; 0: no limit");
ABSL_FLAG(int64_t, worker_memory_limit, 0,
          "address-space limit (RLIMIT_AS) of each worker process, in bytes; "
          "0: none");
ABSL_FLAG(futured::server::DurationOrSeconds, worker_cpu_limit,
          futured::server::DurationOrSeconds{absl::ZeroDuration()},
          "CPU time one task may use in a worker process (RLIMIT_CPU): a "
          "duration (90s, 2m) or whole seconds (90); rounded up to whole "
          "seconds; 0: none");
ABSL_FLAG(absl::Duration, worker_kill_grace, absl::Seconds(1),
          "after SIGTERM to a worker whose task is cancelled or past its "
          "deadline, how long before SIGKILL");
ABSL_FLAG(std::string, worker_binary, "",
          "the futured-worker executable (default: beside this binary)");
ABSL_FLAG(std::vector<std::string>, plugin, {},
          "a task plugin (a shared library built with futured/plugin.h) to "
          "load in the daemon and in every worker process; give the flag "
          "once per plugin");
ABSL_FLAG(std::string, plugin_dir, "",
          "a directory whose *.so files are loaded as task plugins, in name "
          "order, after those of --plugin");
ABSL_FLAG(std::vector<std::string>, exec_allow, {},
          "absolute paths of the programs the exec task may run, compared "
          "after resolving symbolic links; empty (the default): exec is "
          "disabled");
ABSL_FLAG(absl::Duration, exec_kill_grace, absl::Seconds(1),
          "after SIGTERM to a cancelled or timed-out exec command's process "
          "group, how long before SIGKILL (in a process pool at most half "
          "of --worker_kill_grace)");
ABSL_FLAG(std::string, worker_user, "",
          "the user that process-pool workers run as: each drops root for it "
          "before it loads a plugin or runs a task; only when futured starts "
          "as root; empty: workers run as futured's own user");
ABSL_FLAG(std::string, auth_tokens_file, "",
          "file of 'PRINCIPAL TOKEN' lines; when set, every futured.v1 call "
          "needs 'authorization: Bearer <token>' (not readable by others)");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain of the server; with --tls_key: serve TLS");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificate(s): clients must present a certificate signed "
          "by it (mutual TLS); its subject CN is the caller's principal");
ABSL_FLAG(int64_t, max_pending_per_principal, 0,
          "unfinished futures one principal may have (Submit, SubmitBatch, "
          "Run, Map); 0: unlimited");
ABSL_FLAG(std::string, state_dir, "",
          "directory of the journal that keeps accepted futures across "
          "restarts (futured.db); 'none': in memory only; default: "
          "$STATE_DIRECTORY (systemd), else $XDG_STATE_HOME/futured, else "
          "~/.local/state/futured");
ABSL_FLAG(std::string, journal_sync, "normal",
          "normal: a committed future survives a crash of futured; full: "
          "also a power loss (the journal is fsync'ed at every commit)");
ABSL_FLAG(std::string, cluster, "",
          "cluster mode: keep the journal in this PostgreSQL database (a "
          "libpq connection string or postgresql:// URI, without a "
          "password), shared with the other nodes; replaces --state_dir");
ABSL_FLAG(std::string, cluster_password_file, "",
          "file holding the password for --cluster (not readable by "
          "others); empty: libpq's own (PGPASSWORD, PGPASSFILE)");
ABSL_FLAG(std::string, node_name, "",
          "this node's name in the cluster, unique and stable across its "
          "restarts; default: the host name");
ABSL_FLAG(absl::Duration, cluster_lease, absl::Seconds(10),
          "a node that has not renewed its lease for this long is taken for "
          "lost: other nodes adopt its work");
ABSL_FLAG(absl::Duration, cluster_poll, absl::Seconds(5),
          "how often a node looks in the database for futures ended and "
          "requests made on other nodes, besides being notified of them "
          "(LISTEN/NOTIFY): the fallback for a missed notification");
ABSL_FLAG(absl::Duration, cluster_claim_interval, absl::Milliseconds(500),
          "how often a node with idle workers claims pending work that "
          "other live nodes accepted and left waiting at least this long, "
          "so that load spreads; 0: never");
ABSL_FLAG(std::string, metrics_listen, "", "the former name of --http_listen");
ABSL_FLAG(std::string, http_listen, "",
          "host:port of the HTTP listener: Prometheus metrics (GET /metrics) "
          "and the dashboard (GET /), e.g. 127.0.0.1:9464; port 0 picks a "
          "free port; empty: off");
ABSL_FLAG(std::string, dashboard_operator, "",
          "with --auth_tokens_file, the principal whose dashboard shows "
          "every principal's futures (it still cancels only its own)");
ABSL_FLAG(bool, dashboard_allow_remote, false,
          "serve the dashboard without authentication on a --http_listen "
          "address other machines can reach, and to any Host name");

namespace futured::server {
namespace {

// --state_dir's default: systemd's StateDirectory=, else the XDG state
// directory.
std::string DefaultStateDir() {
  if (const char* systemd = std::getenv("STATE_DIRECTORY");
      systemd != nullptr && *systemd != '\0') {
    // Several directories are separated by ':'; the first is futured's.
    return std::string(absl::string_view(systemd).substr(
        0, absl::string_view(systemd).find(':')));
  }
  if (const char* xdg = std::getenv("XDG_STATE_HOME");
      xdg != nullptr && *xdg == '/') {
    return absl::StrCat(xdg, "/futured");
  }
  const char* home = std::getenv("HOME");
  return absl::StrCat(home != nullptr && *home != '\0' ? home : "/",
                      "/.local/state/futured");
}

absl::StatusOr<SqliteJournal::Sync> ParseJournalSync(absl::string_view setting,
                                                     absl::string_view value) {
  if (value == "normal") return SqliteJournal::Sync::kNormal;
  if (value == "full") return SqliteJournal::Sync::kFull;
  return absl::InvalidArgumentError(
      absl::StrCat(setting, " must be normal or full, got '", value, "'"));
}

// The password in `path` (its first line), which others may not read.
absl::StatusOr<std::string> ReadPasswordFile(absl::string_view setting,
                                             const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting, ": cannot read ", path, ": ", strerror(errno)));
  }
  if ((st.st_mode & S_IRWXO) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting, ": ", path,
                     " is readable or writable by others; run chmod "
                     "o-rwx on it"));
  }
  std::ifstream in(path);
  std::string password;
  if (!in || !std::getline(in, password) || password.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting, ": ", path, " holds no password"));
  }
  return password;
}

// --cluster and the flags that go with it.
absl::StatusOr<Settings::Cluster> ClusterFromFlags(
    const ConfigSources& sources) {
  Settings::Cluster cluster{
      .conninfo = absl::GetFlag(FLAGS_cluster),
      .node_name = absl::GetFlag(FLAGS_node_name),
      .lease = absl::GetFlag(FLAGS_cluster_lease),
      .poll = absl::GetFlag(FLAGS_cluster_poll),
      .claim_interval = absl::GetFlag(FLAGS_cluster_claim_interval)};
  if (cluster.conninfo.empty()) return cluster;
  if (absl::Status s = PostgresJournal::CheckConnInfo(cluster.conninfo);
      !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(sources.Describe("cluster"), ": ", s.message()));
  }
  if (cluster.lease <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(sources.Describe("cluster_lease"), " must be positive"));
  }
  if (cluster.claim_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        sources.Describe("cluster_claim_interval"), " must not be negative"));
  }
  if (cluster.poll <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(sources.Describe("cluster_poll"), " must be positive"));
  }
  if (const std::string path = absl::GetFlag(FLAGS_cluster_password_file);
      !path.empty()) {
    absl::StatusOr<std::string> password =
        ReadPasswordFile(sources.Describe("cluster_password_file"), path);
    if (!password.ok()) return password.status();
    cluster.password = *std::move(password);
  }
  if (cluster.node_name.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0') {
      return absl::InvalidArgumentError(
          absl::StrCat("no host name to name this node by: set ",
                       sources.Describe("node_name")));
    }
    cluster.node_name = host;
  }
  return cluster;
}

// Checks take the setting as ConfigSources::Describe() names it, e.g.
// "--threads (from environment variable FUTURED_THREADS)".
absl::Status Positive(absl::string_view setting, int64_t value) {
  if (value > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(setting, " must be positive, got ", value));
}

absl::Status PositiveDuration(absl::string_view setting, absl::Duration value) {
  if (value > absl::ZeroDuration()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      setting, " must be positive, got ", absl::FormatDuration(value)));
}

absl::Status NotNegative(absl::string_view setting, int64_t value) {
  if (value >= 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(setting, " must not be negative, got ", value));
}

absl::Status NotNegative(absl::string_view setting, absl::Duration value) {
  if (value >= absl::ZeroDuration()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      setting, " must not be negative, got ", absl::FormatDuration(value)));
}

// futured-worker in the directory of the running binary.
absl::StatusOr<std::string> WorkerBinary() {
  std::string path = absl::GetFlag(FLAGS_worker_binary);
  if (!path.empty()) return path;
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (n <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot read /proc/self/exe: ", strerror(errno)));
  }
  path.assign(self, static_cast<size_t>(n));
  return absl::StrCat(path.substr(0, path.rfind('/') + 1), "futured-worker");
}

// --plugin paths, then the *.so files of --plugin_dir, made absolute so
// that worker processes find them too.
absl::StatusOr<std::vector<std::string>> PluginsFromFlags() {
  std::vector<std::string> paths = absl::GetFlag(FLAGS_plugin);
  const std::string dir = absl::GetFlag(FLAGS_plugin_dir);
  if (!dir.empty()) {
    absl::StatusOr<std::vector<std::string>> in_dir = PluginsInDirectory(dir);
    if (!in_dir.ok()) return in_dir.status();
    paths.insert(paths.end(), in_dir->begin(), in_dir->end());
  }
  for (std::string& path : paths) {
    std::error_code error;
    const std::filesystem::path absolute =
        std::filesystem::absolute(path, error);
    if (!error) path = absolute.lexically_normal().string();
  }
  return paths;
}

// The default "thread" and "process" pools, then those of --pools. Process
// pools load `plugins` in their workers.
absl::StatusOr<std::vector<PoolOptions>> PoolsFromFlags(
    const ConfigSources& sources, const std::vector<std::string>& plugins) {
  auto name = [&sources](absl::string_view flag) {
    return sources.Describe(flag);
  };
  absl::StatusOr<std::string> worker_binary = WorkerBinary();
  if (!worker_binary.ok()) return worker_binary.status();
  const ThreadPool::Options threads{
      .name = "thread",
      .workers = absl::GetFlag(FLAGS_threads),
      .queue_capacity = absl::GetFlag(FLAGS_queue_capacity)};
  ProcessPool::Options processes;
  processes.name = "process";
  processes.workers = absl::GetFlag(FLAGS_processes);
  processes.queue_capacity = absl::GetFlag(FLAGS_process_queue_capacity);
  processes.worker_binary = *worker_binary;
  processes.max_tasks_per_child = absl::GetFlag(FLAGS_max_tasks_per_child);
  processes.memory_limit_bytes = absl::GetFlag(FLAGS_worker_memory_limit);
  processes.cpu_limit = absl::GetFlag(FLAGS_worker_cpu_limit).value;
  processes.kill_grace = absl::GetFlag(FLAGS_worker_kill_grace);
  processes.plugins = plugins;
  for (absl::Status status : {
           Positive(name("threads"), threads.workers),
           Positive(name("queue_capacity"), threads.queue_capacity),
           Positive(name("processes"), processes.workers),
           Positive(name("process_queue_capacity"), processes.queue_capacity),
           NotNegative(name("max_tasks_per_child"),
                       processes.max_tasks_per_child),
           NotNegative(name("worker_memory_limit"),
                       processes.memory_limit_bytes),
           NotNegative(name("worker_cpu_limit"), processes.cpu_limit),
           NotNegative(name("worker_kill_grace"), processes.kill_grace),
       }) {
    if (!status.ok()) return status;
  }
  std::vector<PoolOptions> pools = {threads, processes};
  std::set<std::string> names = {threads.name, processes.name};
  for (const std::string& spec : absl::GetFlag(FLAGS_pools)) {
    const std::vector<std::string> parts = absl::StrSplit(spec, ':');
    int workers = 0;
    if (parts.size() != 3 || parts[0].empty() ||
        !absl::SimpleAtoi(parts[2], &workers) || workers <= 0 ||
        (parts[1] != "thread" && parts[1] != "process")) {
      return absl::InvalidArgumentError(absl::StrCat(
          name("pools"), ": entry '", spec,
          "' is not name:kind:workers with kind thread or process and "
          "workers > 0"));
    }
    if (!names.insert(parts[0]).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(name("pools"), " names pool '", parts[0], "' twice"));
    }
    if (parts[1] == "thread") {
      ThreadPool::Options pool = threads;
      pool.name = parts[0];
      pool.workers = workers;
      pools.push_back(pool);
    } else {
      ProcessPool::Options pool = processes;
      pool.name = parts[0];
      pool.workers = workers;
      pools.push_back(pool);
    }
  }
  return pools;
}

absl::StatusOr<ExecOptions> ExecFromFlags(absl::string_view name) {
  absl::StatusOr<ExecAllowList> allow =
      ExecAllowList::Create(absl::GetFlag(FLAGS_exec_allow));
  if (!allow.ok()) return allow.status();
  const absl::Duration grace = absl::GetFlag(FLAGS_exec_kill_grace);
  if (absl::Status s = NotNegative(name, grace); !s.ok()) return s;
  return ExecOptions{.allow = *std::move(allow), .kill_grace = grace};
}

// The exec settings a worker of `pool` gets: the same allow-list, and a
// grace that ends before the pool's own SIGKILL to the worker, so that the
// worker can still SIGKILL the command's process group.
std::vector<std::string> ExecWorkerFlags(const ExecOptions& exec,
                                         const ProcessPool::Options& pool) {
  const absl::Duration grace = std::min(exec.kill_grace, pool.kill_grace / 2);
  return {absl::StrCat("--exec_allow=",
                       absl::StrJoin(exec.allow.real_paths(), ",")),
          absl::StrCat("--exec_kill_grace=", absl::FormatDuration(grace))};
}

// The flag that makes a process pool's workers --worker_user (none when it is
// empty, with a warning if they are about to run as root).
absl::StatusOr<std::vector<std::string>> WorkerUserFlags(
    absl::string_view setting) {
  const std::string name = absl::GetFlag(FLAGS_worker_user);
  if (name.empty()) {
    if (geteuid() == 0) {
      Log(LogLevel::kWarning,
          "futured runs as root, and so will its worker processes and their "
          "tasks; give --worker_user=NAME to run them as an unprivileged user");
    }
    return std::vector<std::string>{};
  }
  absl::StatusOr<WorkerUser> user = CheckWorkerUser(setting, name, geteuid());
  if (!user.ok()) return user.status();
  return std::vector<std::string>{absl::StrCat("--user=", user->name)};
}

// --unix_socket_mode: octal permission bits, only for a unix: --listen.
absl::StatusOr<std::optional<mode_t>> UnixSocketMode(absl::string_view name,
                                                     absl::string_view listen) {
  const std::string text = absl::GetFlag(FLAGS_unix_socket_mode);
  if (text.empty()) return std::nullopt;
  if (text.find_first_not_of("01234567") != std::string::npos ||
      text.size() > 4 || std::stoul(text, nullptr, 8) > 0777) {
    return absl::InvalidArgumentError(absl::StrCat(
        name, " must be octal permission bits such as 0660, got '", text, "'"));
  }
  if (!absl::StartsWith(listen, kUnixPrefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, " applies only to a unix: --listen address"));
  }
  return static_cast<mode_t>(std::stoul(text, nullptr, 8));
}

// --http_listen, or its former name --metrics_listen; both only if equal.
absl::StatusOr<std::string> HttpListenFromFlags(const ConfigSources& sources) {
  const std::string http = absl::GetFlag(FLAGS_http_listen);
  const std::string metrics = absl::GetFlag(FLAGS_metrics_listen);
  if (!http.empty() && !metrics.empty() && http != metrics) {
    return absl::InvalidArgumentError(
        absl::StrCat(sources.Describe("http_listen"), " and ",
                     sources.Describe("metrics_listen"),
                     " (its former name) name different addresses: give one"));
  }
  return http.empty() ? metrics : http;
}

rpc::SecuritySettings SecurityFromFlags(const ConfigSources& sources) {
  auto setting = [&sources](absl::string_view flag, const std::string& path) {
    return rpc::FileSetting{.name = sources.Describe(flag), .path = path};
  };
  return rpc::SecuritySettings{
      .tokens_file =
          setting("auth_tokens_file", absl::GetFlag(FLAGS_auth_tokens_file)),
      .tls_cert = setting("tls_cert", absl::GetFlag(FLAGS_tls_cert)),
      .tls_key = setting("tls_key", absl::GetFlag(FLAGS_tls_key)),
      .tls_client_ca =
          setting("tls_client_ca", absl::GetFlag(FLAGS_tls_client_ca))};
}

absl::StatusOr<Settings> ReadFlags(const ConfigSources& sources) {
  auto name = [&sources](absl::string_view flag) {
    return sources.Describe(flag);
  };
  absl::StatusOr<std::vector<std::string>> plugins = PluginsFromFlags();
  if (!plugins.ok()) return plugins.status();
  absl::StatusOr<std::vector<PoolOptions>> pools =
      PoolsFromFlags(sources, *plugins);
  if (!pools.ok()) return pools.status();
  absl::StatusOr<ExecOptions> exec = ExecFromFlags(name("exec_kill_grace"));
  if (!exec.ok()) return exec.status();
  absl::StatusOr<std::string> http_listen = HttpListenFromFlags(sources);
  if (!http_listen.ok()) return http_listen.status();
  for (PoolOptions& pool : *pools) {
    if (auto* process = std::get_if<ProcessPool::Options>(&pool)) {
      process->worker_flags = ExecWorkerFlags(*exec, *process);
    }
  }
  Settings s{
      .listen = absl::GetFlag(FLAGS_listen),
      .plugins = *std::move(plugins),
      .engine = {.pools = *std::move(pools),
                 .retention = absl::GetFlag(FLAGS_retention),
                 .argument_limits = {.max_depth =
                                         absl::GetFlag(FLAGS_max_arg_depth),
                                     .max_bytes =
                                         absl::GetFlag(FLAGS_max_arg_bytes)},
                 .max_pending_per_principal =
                     absl::GetFlag(FLAGS_max_pending_per_principal)},
      .service = {.max_ids_per_call = absl::GetFlag(FLAGS_max_ids_per_call),
                  .max_map_inputs = absl::GetFlag(FLAGS_max_map_inputs),
                  .cancel_grace = absl::GetFlag(FLAGS_cancel_grace),
                  .version = Version()},
      .max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes),
      .shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace),
      .tasks = {.exec = *std::move(exec)},
      .metrics_listen = *std::move(http_listen),
      .dashboard = {
          .operator_principal = absl::GetFlag(FLAGS_dashboard_operator),
          .allow_remote = absl::GetFlag(FLAGS_dashboard_allow_remote)}};
  s.state_dir = absl::GetFlag(FLAGS_state_dir);
  if (s.state_dir.empty()) s.state_dir = DefaultStateDir();
  if (s.state_dir == "none") s.state_dir.clear();
  absl::StatusOr<SqliteJournal::Sync> sync =
      ParseJournalSync(name("journal_sync"), absl::GetFlag(FLAGS_journal_sync));
  if (!sync.ok()) return sync.status();
  s.journal_sync = *sync;
  absl::StatusOr<Settings::Cluster> cluster = ClusterFromFlags(sources);
  if (!cluster.ok()) return cluster.status();
  s.cluster = *std::move(cluster);
  if (!s.cluster.conninfo.empty()) s.state_dir.clear();
  absl::StatusOr<LogLevel> level =
      ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name("log_level"), ": ", level.status().message()));
  }
  SetLogLevel(*level);
  RouteGrpcLogs(*level);  // before any gRPC object
  for (absl::Status status : {
           Positive(name("max_ids_per_call"), s.service.max_ids_per_call),
           Positive(name("max_map_inputs"), s.service.max_map_inputs),
           Positive(name("max_message_bytes"), s.max_message_bytes),
           Positive(name("max_arg_depth"), s.engine.argument_limits.max_depth),
           Positive(name("max_arg_bytes"), s.engine.argument_limits.max_bytes),
           PositiveDuration(name("retention"), s.engine.retention),
           NotNegative(name("shutdown_grace"), s.shutdown_grace),
           NotNegative(name("cancel_grace"), s.service.cancel_grace),
           NotNegative(name("max_pending_per_principal"),
                       s.engine.max_pending_per_principal),
       }) {
    if (!status.ok()) return status;
  }
  if (s.listen.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name("listen"), " is empty"));
  }
  if (!s.dashboard.operator_principal.empty() &&
      absl::GetFlag(FLAGS_auth_tokens_file).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(name("dashboard_operator"),
                     " names a principal, which only --auth_tokens_file "
                     "gives: without it every caller is the same"));
  }
  absl::StatusOr<std::optional<mode_t>> mode =
      UnixSocketMode(name("unix_socket_mode"), s.listen);
  if (!mode.ok()) return mode.status();
  s.unix_socket_mode = *mode;
  absl::StatusOr<std::vector<std::string>> user_flags =
      WorkerUserFlags(name("worker_user"));
  if (!user_flags.ok()) return user_flags.status();
  for (PoolOptions& pool : s.engine.pools) {
    if (auto* process = std::get_if<ProcessPool::Options>(&pool)) {
      process->worker_flags.insert(process->worker_flags.end(),
                                   user_flags->begin(), user_flags->end());
    }
  }
  absl::StatusOr<rpc::ServerSecurity> security =
      rpc::LoadServerSecurity(SecurityFromFlags(sources));
  if (!security.ok()) return security.status();
  s.security = *std::move(security);
  s.service.caller = s.security.policy;
  return s;
}

// The flags futured defines (those of this file), which the environment may
// set and --help lists.
bool IsFuturedFlagFile(absl::string_view filename) {
  return absl::EndsWith(filename, "server/daemon/settings.cc");
}

std::set<std::string> FuturedFlagNames() {
  std::set<std::string> names;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (IsFuturedFlagFile(flag->Filename())) names.emplace(name);
  }
  return names;
}

}  // namespace

// Flags, then FUTURED_* variables, then checks; exits on a bad setting.
absl::StatusOr<Settings> Configure(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Python's concurrent.futures as a gRPC daemon.\n"
      "Usage: futured [--listen=127.0.0.1:50051] [--flagfile=FILE] "
      "[--flag=value ...]\n"
      "Each flag may also be set by the environment variable "
      "FUTURED_<FLAG IN UPPER CASE>;\nthe command line wins over the "
      "environment, the environment over a --flagfile.");
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = IsFuturedFlagFile;
  usage.contains_helpshort_flags = IsFuturedFlagFile;
  usage.version_string = VersionText;
  usage.normalize_filename = [](absl::string_view filename) {
    const size_t server = filename.rfind("server/");
    return std::string(
        server == absl::string_view::npos ? filename : filename.substr(server));
  };
  absl::SetFlagsUsageConfig(usage);
  // Before absl, which would keep only the last --plugin.
  std::vector<std::string> plugins = TakeRepeatedFlag("plugin", &argc, argv);
  absl::ParseCommandLine(argc, argv);
  ConfigSources sources(FuturedFlagNames(), argc, argv);
  if (absl::Status s = sources.ApplyEnvironment(); !s.ok()) return s;
  // The command line wins over FUTURED_PLUGIN.
  if (!plugins.empty()) absl::SetFlag(&FLAGS_plugin, std::move(plugins));
  absl::StatusOr<Settings> settings = ReadFlags(sources);  // sets the level
  for (const std::string& variable : sources.UnknownEnvironmentVariables()) {
    Log(LogLevel::kWarning, absl::StrCat("environment variable ", variable,
                                         " names no flag of futured; ignored "
                                         "(futured --help lists them)"));
  }
  return settings;
}

}  // namespace futured::server
