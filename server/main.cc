// futured: the daemon. Parses flags, serves futured.v1.Executor, health and
// reflection, and shuts down gracefully on SIGINT or SIGTERM.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/marshalling.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "server/builtin_tasks.h"
#include "server/engine.h"
#include "server/rpc/executor_service.h"
#include "server/task_registry.h"
#include "server/timer_queue.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50051",
          "address to serve on: host:port (port 0 picks a free port) or "
          "unix:/path/to/socket");
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
ABSL_FLAG(absl::Duration, worker_cpu_limit, absl::ZeroDuration(),
          "CPU time one task may use in a worker process (RLIMIT_CPU, whole "
          "seconds); 0: none");
ABSL_FLAG(absl::Duration, worker_kill_grace, absl::Seconds(1),
          "after SIGTERM to a worker whose task is cancelled or past its "
          "deadline, how long before SIGKILL");
ABSL_FLAG(std::string, worker_binary, "",
          "the futured-worker executable (default: beside this binary)");

namespace futured::server {
namespace {

constexpr char kUnixPrefix[] = "unix:";

struct Settings {
  std::string listen;
  EngineOptions engine;
  rpc::ServiceOptions service;
  int max_message_bytes;
  absl::Duration shutdown_grace;
};

absl::Status Positive(absl::string_view flag, int64_t value) {
  if (value > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " must be positive, got ", value));
}

absl::Status PositiveDuration(absl::string_view flag, absl::Duration value) {
  if (value > absl::ZeroDuration()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "--", flag, " must be positive, got ", absl::FormatDuration(value)));
}

absl::Status NotNegative(absl::string_view flag, int64_t value) {
  if (value >= 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " must not be negative, got ", value));
}

absl::Status NotNegative(absl::string_view flag, absl::Duration value) {
  if (value >= absl::ZeroDuration()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "--", flag, " must not be negative, got ", absl::FormatDuration(value)));
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

// The default "thread" and "process" pools, then those of --pools.
absl::StatusOr<std::vector<PoolOptions>> PoolsFromFlags() {
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
  processes.cpu_limit = absl::GetFlag(FLAGS_worker_cpu_limit);
  processes.kill_grace = absl::GetFlag(FLAGS_worker_kill_grace);
  for (absl::Status status : {
           Positive("threads", threads.workers),
           Positive("queue_capacity", threads.queue_capacity),
           Positive("processes", processes.workers),
           Positive("process_queue_capacity", processes.queue_capacity),
           NotNegative("max_tasks_per_child", processes.max_tasks_per_child),
           NotNegative("worker_memory_limit", processes.memory_limit_bytes),
           NotNegative("worker_cpu_limit", processes.cpu_limit),
           NotNegative("worker_kill_grace", processes.kill_grace),
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
          "--pools entry '", spec,
          "' is not name:kind:workers with kind thread or process and "
          "workers > 0"));
    }
    if (!names.insert(parts[0]).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("--pools names pool '", parts[0], "' twice"));
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

absl::StatusOr<Settings> ReadFlags() {
  absl::StatusOr<std::vector<PoolOptions>> pools = PoolsFromFlags();
  if (!pools.ok()) return pools.status();
  Settings s{
      .listen = absl::GetFlag(FLAGS_listen),
      .engine = {.pools = *std::move(pools),
                 .retention = absl::GetFlag(FLAGS_retention)},
      .service = {.max_ids_per_call = absl::GetFlag(FLAGS_max_ids_per_call),
                  .max_map_inputs = absl::GetFlag(FLAGS_max_map_inputs),
                  .cancel_grace = absl::GetFlag(FLAGS_cancel_grace)},
      .max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes),
      .shutdown_grace = absl::GetFlag(FLAGS_shutdown_grace)};
  absl::StatusOr<LogLevel> level =
      ParseLogLevel(absl::GetFlag(FLAGS_log_level));
  if (!level.ok()) return level.status();
  SetLogLevel(*level);
  for (absl::Status status : {
           Positive("max_ids_per_call", s.service.max_ids_per_call),
           Positive("max_map_inputs", s.service.max_map_inputs),
           Positive("max_message_bytes", s.max_message_bytes),
           PositiveDuration("retention", s.engine.retention),
           NotNegative("shutdown_grace", s.shutdown_grace),
           NotNegative("cancel_grace", s.service.cancel_grace),
       }) {
    if (!status.ok()) return status;
  }
  if (s.listen.empty()) return absl::InvalidArgumentError("--listen is empty");
  return s;
}

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

// Blocks SIGINT and SIGTERM in this thread and every thread started after,
// so that only WaitForStopSignal() receives them.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return set;
}

int WaitForStopSignal(const sigset_t& set) {
  int signal_number = 0;
  while (sigwait(&set, &signal_number) != 0) {
  }
  return signal_number;
}

int Run(const Settings& settings, const sigset_t& stop_signals) {
  absl::StatusOr<int> lock_fd = LockUnixSocket(settings.listen);
  if (!lock_fd.ok()) {
    Log(LogLevel::kError, lock_fd.status().message());
    return EXIT_FAILURE;
  }
  TaskRegistry registry;
  if (absl::Status s = RegisterBuiltinTasks(registry); !s.ok()) {
    Log(LogLevel::kError, absl::StrCat("cannot register tasks: ", s.message()));
    return EXIT_FAILURE;
  }
  TimerQueue timers;
  Engine engine(settings.engine, &registry, &timers);
  rpc::ExecutorService service(settings.service, &engine, &timers);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(settings.listen, grpc::InsecureServerCredentials(),
                           &port);
  builder.SetMaxReceiveMessageSize(settings.max_message_bytes);
  builder.SetMaxSendMessageSize(settings.max_message_bytes);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr ||
      (!absl::StartsWith(settings.listen, kUnixPrefix) && port == 0)) {
    Log(LogLevel::kError, absl::StrCat("cannot listen on ", settings.listen));
    return EXIT_FAILURE;
  }
  server->GetHealthCheckService()->SetServingStatus(
      v1::Executor::service_full_name(), true);
  const std::string address = BoundAddress(settings.listen, port);
  std::vector<std::string> pools;
  for (const PoolStats& pool : engine.PoolStatistics()) {
    pools.push_back(
        absl::StrCat(pool.name, " (", pool.workers, " ",
                     pool.kind == "process" ? "processes" : "threads", ")"));
  }
  Log(LogLevel::kInfo, absl::StrCat("serving on ", address, " with pools ",
                                    absl::StrJoin(pools, ", ")));
  std::printf("futured listening on %s\n", address.c_str());
  std::fflush(stdout);

  const int signal_number = WaitForStopSignal(stop_signals);
  Log(LogLevel::kInfo,
      absl::StrCat("received ", strsignal(signal_number), "; shutting down"));
  service.Drain();
  server->GetHealthCheckService()->Shutdown();
  // Every waiting call has been answered; what is left are quick unary
  // calls in flight and idle connections, which would hold Shutdown until
  // its deadline.
  server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Milliseconds(250)));
  const bool all_stopped = engine.Shutdown(settings.shutdown_grace);
  server.reset();
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
  absl::SetProgramUsageMessage(
      "futured: Python's concurrent.futures as a gRPC daemon.\n"
      "Usage: futured [--listen=127.0.0.1:50051] [--threads=N] [--processes=N] "
      "...");
  absl::ParseCommandLine(argc, argv);
#ifdef NDEBUG
  // Debian's abseil is built with its Mutex deadlock detector on: every lock
  // and every Mutex destruction (two per future) then goes through one
  // global graph under one global lock. Debug builds keep it, for the tests.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  const sigset_t stop_signals = futured::server::BlockStopSignals();
  absl::StatusOr<futured::server::Settings> settings =
      futured::server::ReadFlags();
  if (!settings.ok()) {
    std::fprintf(stderr, "futured: %s\n",
                 std::string(settings.status().message()).c_str());
    return EXIT_FAILURE;
  }
  return futured::server::Run(*settings, stop_signals);
}
