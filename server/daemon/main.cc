// futured: the daemon. Serves futured.v1.Executor, health and reflection with
// the Settings its flags give (settings.h), and shuts down gracefully on
// SIGINT or SIGTERM.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/mutex_deadlock_detection.h"
#include "google/protobuf/message.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/daemon/dashboard_http.h"
#include "server/daemon/metrics_http.h"
#include "server/daemon/prometheus_text.h"
#include "server/daemon/settings.h"
#include "server/daemon/systemd_notify.h"
#include "server/daemon/version.h"
#include "server/engine/engine.h"
#include "server/engine/timer_queue.h"
#include "server/os/adopted_children.h"
#include "server/rpc/auth_interceptor.h"
#include "server/rpc/executor_service.h"
#include "server/store/cluster_view.h"
#include "server/store/postgres_bus.h"
#include "server/store/postgres_journal.h"
#include "server/store/sqlite_journal.h"
#include "server/task/plugin_loader.h"
#include "server/task/task_registry.h"
#include "server/tasks/builtin_tasks.h"

namespace futured::server {
namespace {

// gRPC unlinks an existing socket file at bind, so a second daemon would
// silently take the path over. A lock beside the socket prevents that.
// Returns the lock's descriptor, held for the life of the process.
absl::StatusOr<int> LockUnixSocket(const std::string& listen) {
  if (!absl::StartsWith(listen, kUnixPrefix)) return -1;
  const std::string lock_path =
      absl::StrCat(listen.substr(sizeof(kUnixPrefix) - 1), ".lock");
  const int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot open ", lock_path, ": ", strerror(errno)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "another futured serves ", listen, " (", lock_path, " is locked)"));
  }
  return fd;
}

// The address clients should use: the port gRPC picked replaces port 0.
std::string BoundAddress(const std::string& listen, int port) {
  if (absl::StartsWith(listen, kUnixPrefix)) return listen;
  return absl::StrCat(listen.substr(0, listen.rfind(':')), ":", port);
}

// Blocks SIGINT, SIGTERM and SIGCHLD in this thread and every thread
// started after, so that only WaitForStopSignal() receives them.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return set;
}

// On the main thread: reaps adopted orphans (adopted_children.h) until
// SIGINT or SIGTERM, which it returns.
int WaitForStopSignal(const sigset_t& set) {
  while (true) {
    int signal_number = 0;
    if (sigwait(&set, &signal_number) != 0) continue;
    if (signal_number != SIGCHLD) return signal_number;
    ReapAdoptedChildren();
  }
}

// Pool sizes for the start-up line: "thread (6 threads), process (2
// processes)".
std::string DescribePools(const Engine& engine) {
  std::vector<std::string> pools;
  for (const PoolStats& pool : engine.PoolStatistics()) {
    pools.push_back(
        absl::StrCat(pool.name, " (", pool.workers, " ",
                     pool.kind == "process" ? "processes" : "threads", ")"));
  }
  return absl::StrJoin(pools, ", ");
}

// The figures /metrics serves, read at each scrape.
DaemonFigures GatherFigures(const Engine& engine,
                            const rpc::ExecutorService& service,
                            const ClusterView* cluster, absl::Time start_time) {
  std::optional<ClusterStats> cluster_stats;
  if (cluster != nullptr) cluster_stats = cluster->Snapshot();
  return DaemonFigures{.pools = engine.PoolStatistics(),
                       .functions = engine.FunctionStatistics(),
                       .futures = engine.FutureCount(),
                       .waiting_calls = service.waiting_calls(),
                       .start_time = start_time,
                       .version = Version(),
                       .journal = engine.JournalStatistics(),
                       .cluster = std::move(cluster_stats)};
}

// The dashboard for --http_listen, or null: without one, or when it would
// be reachable from other machines with no authentication (unless
// --dashboard_allow_remote).
std::unique_ptr<Dashboard> StartDashboard(const Settings& settings,
                                          const Engine& engine,
                                          absl::Time start_time) {
  if (settings.metrics_listen.empty()) return nullptr;
  DashboardOptions options{
      .policy = settings.security.policy,
      .operator_principal = settings.dashboard.operator_principal,
      .allow_remote = settings.dashboard.allow_remote,
      .start_time = start_time,
      .version = Version()};
  if (!DashboardAllowedOn(settings.metrics_listen, options)) {
    Log(LogLevel::kWarning,
        absl::StrCat("no dashboard on ", settings.metrics_listen,
                     ": reachable from other machines with no bearer tokens "
                     "(see --auth_tokens_file, --dashboard_allow_remote); "
                     "/metrics is served"));
    return nullptr;
  }
  return std::make_unique<Dashboard>(&engine, std::move(options));
}

// "http://host:port/" from the listener's ".../metrics" URL.
std::string DashboardUrl(absl::string_view metrics_url) {
  absl::ConsumeSuffix(&metrics_url, "metrics");
  return std::string(metrics_url);
}

// SIGTERM/SIGINT: refuse new work, give running tasks the grace, cancel the
// rest, answer waiting calls with each future's final state, then stop
// serving. Returns whether every task stopped.
bool GracefulShutdown(const Settings& settings, grpc::Server& server,
                      rpc::ExecutorService& service, Engine& engine) {
  service.StopAccepting();
  server.GetHealthCheckService()->Shutdown();
  // Done-callbacks answer the waiting calls as the futures end.
  const bool all_stopped = engine.Shutdown(settings.shutdown_grace);
  // What is left: Watch streams, and calls on a task that ignored
  // cancellation.
  service.Drain();
  // Every waiting call has been answered; what is left are quick unary
  // calls in flight and idle connections, which would hold Shutdown until
  // its deadline.
  server.Shutdown(absl::ToChronoTime(absl::Now() + absl::Milliseconds(250)));
  return all_stopped;
}

// Builds and starts the server; a unix socket then gets --unix_socket_mode.
// Until the chmod (an instant at start-up, before the daemon says it
// serves) the socket has the permissions the umask gave it. Not umask(077)
// around the bind: worker processes spawned meanwhile would inherit it.
std::unique_ptr<grpc::Server> StartServer(grpc::ServerBuilder& builder,
                                          const Settings& settings) {
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || !settings.unix_socket_mode.has_value()) {
    return server;
  }
  const std::string path = settings.listen.substr(sizeof(kUnixPrefix) - 1);
  if (chmod(path.c_str(), *settings.unix_socket_mode) != 0) {
    Log(LogLevel::kError,
        absl::StrCat("cannot chmod ", path, ": ", strerror(errno)));
    server->Shutdown();
    return nullptr;
  }
  return server;
}

// The exit status when the journal cannot be opened or read: EX_DATAERR of
// sysexits.h, so that an operator tells it from a bad flag.
constexpr int kJournalExitCode = 65;

// The exit status of a cluster node that lost its lease (EX_TEMPFAIL): its
// work is another node's now; restarted, it joins again with a new epoch.
constexpr int kLostLeaseExitCode = 75;

// A cluster node's answer to losing its lease: whatever it would do next,
// another node does now, so it exits before a task starts that it may run
// too. Restarted, it joins again with a new epoch.
void ExitOnLostLease(const absl::Status& why) {
  Log(LogLevel::kError,
      absl::StrCat("cluster: ", why.message(), "; exiting at once (status ",
                   kLostLeaseExitCode, ")"));
  _exit(kLostLeaseExitCode);
}

// The journal the settings name: PostgreSQL with --cluster, else SQLite in
// --state_dir, else none (null).
absl::StatusOr<std::unique_ptr<Journal>> OpenJournal(const Settings& settings) {
  if (!settings.cluster.conninfo.empty()) {
    const Settings::Cluster& cluster = settings.cluster;
    absl::StatusOr<std::unique_ptr<PostgresJournal>> opened =
        PostgresJournal::Open({.conninfo = cluster.conninfo,
                               .password = cluster.password,
                               .node = cluster.node_name,
                               .lease = cluster.lease,
                               .claim_interval = cluster.claim_interval,
                               .join_wait = 2 * cluster.lease,
                               .lost_lease = ExitOnLostLease});
    if (!opened.ok()) return opened.status();
    Log(LogLevel::kInfo,
        absl::StrCat("cluster: node ", cluster.node_name, " joined (epoch ",
                     (*opened)->epoch(), ", lease ",
                     absl::FormatDuration(cluster.lease), ")"));
    return std::unique_ptr<Journal>(*std::move(opened));
  }
  if (settings.state_dir.empty()) return nullptr;
  absl::StatusOr<std::unique_ptr<SqliteJournal>> opened = SqliteJournal::Open(
      {.dir = settings.state_dir, .sync = settings.journal_sync});
  if (!opened.ok()) return opened.status();
  return std::unique_ptr<Journal>(*std::move(opened));
}

// Brings back the journal's futures and says so. False (logged) if the
// journal cannot be read.
bool RecoverJournal(Engine& engine, const Journal* journal) {
  if (journal == nullptr) {
    Log(LogLevel::kInfo,
        "journal: none (--state_dir=none): futures live in memory only");
    return true;
  }
  absl::StatusOr<RecoveryCounts> recovered = engine.Recover();
  const std::string path = journal->Stats().path;
  if (!recovered.ok()) {
    Log(LogLevel::kError, absl::StrCat("cannot read the journal ", path, ": ",
                                       recovered.status().ToString()));
    return false;
  }
  const RecoveryCounts& c = *recovered;
  Log(LogLevel::kInfo,
      absl::StrCat("journal ", path, ": recovered ",
                   c.done + c.requeued + c.interrupted + c.retried +
                       c.timed_out + c.refused,
                   " futures (", c.done, " done, ", c.requeued,
                   " queued again, ", c.interrupted,
                   " interrupted while running, ", c.retried,
                   " interrupted and retried, ", c.timed_out,
                   " past their deadline, ", c.refused, " refused)"));
  return true;
}

int Run(const Settings& settings, const sigset_t& stop_signals,
        NotifyEnvironment notify_environment) {
  const absl::Time start_time = absl::Now();
  absl::StatusOr<int> lock_fd = LockUnixSocket(settings.listen);
  if (!lock_fd.ok()) {
    Log(LogLevel::kError, lock_fd.status().message());
    return EXIT_FAILURE;
  }
  TaskRegistry registry;
  if (absl::Status s = RegisterBuiltinTasks(registry, settings.tasks);
      !s.ok()) {
    Log(LogLevel::kError, absl::StrCat("cannot register tasks: ", s.message()));
    return EXIT_FAILURE;
  }
  PluginLoader plugins(&registry);
  for (const std::string& path : settings.plugins) {
    if (absl::Status s = plugins.Load(path); !s.ok()) {
      Log(LogLevel::kError, s.message());
      return EXIT_FAILURE;
    }
    Log(LogLevel::kInfo, absl::StrCat("loaded plugin ", path));
  }
  // Before the engine, which closes it as it shuts down.
  absl::StatusOr<std::unique_ptr<Journal>> journal = OpenJournal(settings);
  if (!journal.ok()) {
    Log(LogLevel::kError,
        absl::StrCat("cannot open the journal: ", journal.status().ToString()));
    return kJournalExitCode;
  }
  // Cluster mode: GetStats' and /metrics' view of the cluster. Before the
  // engine, whose adoptions it counts.
  std::unique_ptr<ClusterView> cluster_view;
  if (!settings.cluster.conninfo.empty()) {
    cluster_view = std::make_unique<ClusterView>(
        ClusterView::Options{.conninfo = settings.cluster.conninfo,
                             .password = settings.cluster.password,
                             .node = settings.cluster.node_name});
  }
  // In a cluster: the line to the other nodes; the engine closes it.
  std::unique_ptr<PostgresBus> bus;
  if (!settings.cluster.conninfo.empty()) {
    const Settings::Cluster& cluster = settings.cluster;
    absl::StatusOr<std::unique_ptr<PostgresBus>> opened =
        PostgresBus::Open({.conninfo = cluster.conninfo,
                           .password = cluster.password,
                           .node = cluster.node_name,
                           .poll = cluster.poll,
                           .request_timeout = 3 * cluster.lease});
    if (!opened.ok()) {
      Log(LogLevel::kError,
          absl::StrCat("cluster: cannot listen: ", opened.status().ToString()));
      return kJournalExitCode;
    }
    bus = *std::move(opened);
  }
  EngineOptions engine_options = settings.engine;
  engine_options.journal = journal->get();
  engine_options.bus = bus.get();
  TimerQueue timers;
  Engine engine(engine_options, &registry, &timers);
  if (!RecoverJournal(engine, journal->get())) return kJournalExitCode;
  if (cluster_view != nullptr) {
    engine.AdoptLostNodes([view = cluster_view.get()](const std::string& node,
                                                      const RecoveryCounts& c) {
      view->NoteAdoption(c.requeued + c.interrupted + c.done + c.timed_out +
                         c.refused);
      Log(LogLevel::kWarning,
          absl::StrCat("cluster: node ", node,
                       " lost its lease; adopted its futures: ", c.requeued,
                       " queued here, ", c.interrupted,
                       " failed with NodeLostError (running there), ", c.done,
                       " done, ", c.timed_out, " past their deadline, ",
                       c.refused, " refused"));
    });
    engine.ClaimIdleWork([view = cluster_view.get()](const RecoveryCounts& c) {
      view->NoteClaim(c.requeued + c.timed_out + c.refused);
      Log(LogLevel::kDebug,
          absl::StrCat("cluster: claimed pending work of busy nodes: ",
                       c.requeued, " queued here, ", c.timed_out,
                       " past their deadline, ", c.refused, " refused"));
    });
    engine.ServeCluster();
  }
  rpc::ServiceOptions service_options = settings.service;
  service_options.cluster = cluster_view.get();
  rpc::ExecutorService service(service_options, &engine, &timers);
  // After the engine, so that its watchdog thread, which probes the engine,
  // is joined first.
  SystemdNotifier notifier(std::move(notify_environment));

  // Declared before `metrics`, whose server calls it: destroyed after.
  std::unique_ptr<Dashboard> dashboard =
      StartDashboard(settings, engine, start_time);
  std::unique_ptr<MetricsHttpServer> metrics;
  if (!settings.metrics_listen.empty()) {
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> started =
        MetricsHttpServer::Start(
            settings.metrics_listen,
            [&] {
              return RenderPrometheusText(GatherFigures(
                  engine, service, cluster_view.get(), start_time));
            },
            [&dashboard](httplib::Server& server) {
              if (dashboard != nullptr) dashboard->AddRoutes(server);
            });
    if (!started.ok()) {
      Log(LogLevel::kError, started.status().message());
      return EXIT_FAILURE;
    }
    metrics = *std::move(started);
  }

  grpc::EnableDefaultHealthCheckService(true);
  // gRPC's default health service has no generated code; linking the
  // descriptors of grpc/health/v1/health.proto lets reflection describe it,
  // which grpcurl needs to call Health/Check.
  google::protobuf::LinkMessageReflection<
      grpc::health::v1::HealthCheckRequest>();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(settings.listen, settings.security.Credentials(),
                           &port);
  if (settings.security.policy.enabled()) {
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(std::make_unique<rpc::AuthInterceptorFactory>(
        settings.security.policy));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  builder.SetMaxReceiveMessageSize(settings.max_message_bytes);
  builder.SetMaxSendMessageSize(settings.max_message_bytes);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = StartServer(builder, settings);
  if (server == nullptr ||
      (!absl::StartsWith(settings.listen, kUnixPrefix) && port == 0)) {
    Log(LogLevel::kError, absl::StrCat("cannot listen on ", settings.listen));
    return EXIT_FAILURE;
  }
  server->GetHealthCheckService()->SetServingStatus(
      v1::Executor::service_full_name(), true);
  const std::string address = BoundAddress(settings.listen, port);
  Log(LogLevel::kInfo,
      absl::StrCat("futured ", Version(), " (pid ", getpid(), ") serving on ",
                   address, " with pools ", DescribePools(engine)));
  Log(LogLevel::kInfo,
      absl::StrCat("security: ", settings.security.Describe()));
  if (!settings.security.policy.enabled() &&
      !rpc::IsLocalListenAddress(settings.listen)) {
    Log(LogLevel::kWarning,
        absl::StrCat("listening on ", address,
                     ", reachable from other machines, with no "
                     "authentication: anyone who can connect may run tasks "
                     "as this daemon's user (see --auth_tokens_file, "
                     "--tls_client_ca)"));
  }
  std::printf("futured listening on %s\n", address.c_str());
  if (metrics != nullptr) {
    Log(LogLevel::kInfo, absl::StrCat("metrics on ", metrics->url()));
    std::printf("futured metrics on %s\n", metrics->url().c_str());
    if (dashboard != nullptr) {
      const std::string url = DashboardUrl(metrics->url());
      Log(LogLevel::kInfo, absl::StrCat("dashboard on ", url));
      std::printf("futured dashboard on %s\n", url.c_str());
    }
  }
  std::fflush(stdout);
  if (absl::Status s =
          notifier.Notify(absl::StrCat("READY=1\nSTATUS=serving on ", address));
      !s.ok()) {
    Log(LogLevel::kWarning,
        absl::StrCat("cannot notify systemd: ", s.message()));
  }
  notifier.StartWatchdog([&engine] {
    // Takes every pool's lock: a wedged pool stops the pings.
    engine.PoolStatistics();
    return true;
  });

  const int signal_number = WaitForStopSignal(stop_signals);
  Log(LogLevel::kInfo,
      absl::StrCat("received ", strsignal(signal_number),
                   "; shutting down: refusing new work, running tasks get ",
                   absl::FormatDuration(settings.shutdown_grace)));
  notifier.Notify("STOPPING=1\nSTATUS=shutting down").IgnoreError();
  const bool all_stopped = GracefulShutdown(settings, *server, service, engine);
  metrics.reset();
  dashboard.reset();
  server.reset();
  // What left its command's process group and was orphaned since.
  KillAdoptedChildren(absl::Seconds(1));
  if (!all_stopped) {
    // A task ignored its cancellation token; its thread cannot be joined.
    Log(LogLevel::kWarning, "a task ignored cancellation; exiting without it");
    std::_Exit(EXIT_SUCCESS);
  }
  if (*lock_fd >= 0) close(*lock_fd);
  Log(LogLevel::kInfo, "stopped");
  return EXIT_SUCCESS;
}

}  // namespace
}  // namespace futured::server

int main(int argc, char** argv) {
  futured::ConfigureMutexDeadlockDetection();
  absl::StatusOr<futured::server::Settings> settings =
      futured::server::Configure(argc, argv);
  if (!settings.ok()) {
    std::fprintf(stderr, "futured: %s\n",
                 std::string(settings.status().message()).c_str());
    return EXIT_FAILURE;
  }
  // Before any thread starts: it edits the environment.
  absl::StatusOr<futured::server::NotifyEnvironment> notify =
      futured::server::TakeNotifyEnvironment();
  if (!notify.ok()) {
    std::fprintf(stderr, "futured: %s\n",
                 std::string(notify.status().message()).c_str());
    return EXIT_FAILURE;
  }
  const sigset_t stop_signals = futured::server::BlockStopSignals();
  if (absl::Status s = futured::server::BecomeChildSubreaper(); !s.ok()) {
    std::fprintf(stderr, "futured: %s\n", std::string(s.message()).c_str());
    return EXIT_FAILURE;
  }
  return futured::server::Run(*settings, stop_signals, *std::move(notify));
}
