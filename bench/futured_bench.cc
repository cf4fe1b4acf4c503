// futured-bench: a load generator that drives a futured daemon through the
// client library, and the floor (a bare gRPC echo) measured in the same run.
// Prints one line of key=value figures per workload; bench/run-all.sh turns
// them into a table.
//
//   futured-bench                          # start a daemon, run everything
//   futured-bench --workloads=sync,map --pools=process
//   futured-bench --target=127.0.0.1:50051 --daemon_pid=1234
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "bench/echo_floor.h"
#include "bench/proc_sample.h"
#include "bench/workloads.h"
#include "common/mutex_deadlock_detection.h"
#include "futured/futured.h"
#include "tests/integration/daemon_process.h"

ABSL_FLAG(std::vector<std::string>, workloads,
          std::vector<std::string>({"echo", "sync", "sync_run", "sync_map",
                                    "pipelined", "one_rpc", "map",
                                    "as_completed", "sleeps", "factorials",
                                    "waiters", "retained"}),
          "workloads to run, in this order");
ABSL_FLAG(std::vector<std::string>, pools,
          std::vector<std::string>({"thread", "process"}),
          "pools for the per-pool workloads (pipelined, one_rpc, map)");
ABSL_FLAG(bool, unix_socket, false,
          "daemon and echo floor on a unix socket instead of 127.0.0.1");
ABSL_FLAG(std::vector<std::string>, daemon_flags,
          std::vector<std::string>({"--max_ids_per_call=100000"}),
          "flags for the daemon futured-bench starts");
ABSL_FLAG(std::string, target, "",
          "drive this running daemon instead of starting one");
ABSL_FLAG(int, daemon_pid, 0, "with --target: its PID, for /proc figures");
ABSL_FLAG(int64_t, pipelined, 200000, "tasks per pool, submit_batch");
ABSL_FLAG(int64_t, one_rpc, 20000, "tasks per pool, one Submit each");
ABSL_FLAG(int64_t, sync, 5000, "synchronous round trips (and echo calls)");
ABSL_FLAG(int64_t, map, 100000, "map inputs per pool");
ABSL_FLAG(int64_t, as_completed, 100000, "futures for as_completed");
ABSL_FLAG(int64_t, waiters, 10000, "concurrent Result calls");
ABSL_FLAG(int64_t, retained, 1000000, "retained futures, memory figure");
ABSL_FLAG(int64_t, batch, 1000, "calls per submit_batch");
ABSL_FLAG(int64_t, map_buffersize, 8192, "map's buffersize");
ABSL_FLAG(bool, echo_server, false, "internal: serve the echo floor");
ABSL_FLAG(std::string, listen, "127.0.0.1:0", "internal: echo server address");

namespace futured::bench {
namespace {

Sizes SizesFromFlags() {
  Sizes sizes;
  sizes.pipelined = absl::GetFlag(FLAGS_pipelined);
  sizes.one_rpc = absl::GetFlag(FLAGS_one_rpc);
  sizes.sync = absl::GetFlag(FLAGS_sync);
  sizes.map = absl::GetFlag(FLAGS_map);
  sizes.as_completed = absl::GetFlag(FLAGS_as_completed);
  sizes.waiters = absl::GetFlag(FLAGS_waiters);
  sizes.retained = absl::GetFlag(FLAGS_retained);
  sizes.batch = absl::GetFlag(FLAGS_batch);
  sizes.map_buffersize = absl::GetFlag(FLAGS_map_buffersize);
  sizes.one_rpc_threads = static_cast<int>(
      std::max<int64_t>(1, std::min<int64_t>(16, sizes.one_rpc)));
  return sizes;
}

void Print(Figures& f, const ProcSample& before, const ProcSample& after) {
  std::vector<std::string> parts = {
      absl::StrCat("workload=", f.workload), absl::StrCat("count=", f.count),
      absl::StrFormat("seconds=%.3f", f.seconds),
      absl::StrFormat("per_s=%.0f", f.seconds > 0 ? f.count / f.seconds : 0)};
  if (!f.latencies.empty()) {
    parts.push_back(absl::StrFormat("p50_us=%.1f", f.latencies.Percentile(50)));
    parts.push_back(absl::StrFormat("p99_us=%.1f", f.latencies.Percentile(99)));
    parts.push_back(
        absl::StrFormat("p999_us=%.1f", f.latencies.Percentile(99.9)));
  }
  if (after.rss_bytes > 0) {
    const double cpu = after.cpu_seconds - before.cpu_seconds;
    parts.push_back(absl::StrFormat("daemon_cpu_s=%.2f", cpu));
    if (f.count > 0) {
      parts.push_back(
          absl::StrFormat("daemon_cpu_us_per_item=%.2f", 1e6 * cpu / f.count));
    }
    parts.push_back(
        absl::StrFormat("daemon_rss_mb=%.1f", after.rss_bytes / 1048576.0));
    parts.push_back(absl::StrCat("daemon_threads=", after.threads));
  }
  for (const auto& [key, value] : f.extra) {
    parts.push_back(absl::StrFormat("%s=%.2f", key, value));
  }
  std::printf("%s\n", absl::StrJoin(parts, " ").c_str());
  std::fflush(stdout);
}

absl::Status RunEcho(const std::string& self, bool unix_socket,
                     const Sizes& sizes) {
  std::string listen = "127.0.0.1:0";
  if (unix_socket) {
    listen = absl::StrCat("unix:/tmp/futured-bench-echo-", getpid(), ".sock");
  }
  absl::StatusOr<std::unique_ptr<EchoServerProcess>> server =
      EchoServerProcess::Start(self, listen);
  if (!server.ok()) return server.status();
  // Warm up the connection, then time.
  if (absl::StatusOr<EchoFigures> warm = MeasureEcho((*server)->address(), 200);
      !warm.ok()) {
    return warm.status();
  }
  absl::StatusOr<EchoFigures> echo =
      MeasureEcho((*server)->address(), static_cast<int>(sizes.sync));
  if (!echo.ok()) return echo.status();
  Figures f{.workload = "floor.grpc_echo",
            .count = sizes.sync,
            .seconds = sizes.sync / echo->calls_per_second,
            .latencies = std::move(echo->latencies),
            .extra = {}};
  Print(f, {}, {});
  return absl::OkStatus();
}

absl::Status RunWorkload(const std::string& name, const Daemon& daemon,
                         const Sizes& sizes) {
  struct Entry {
    const char* name;
    Workload run;
    bool per_pool;
  };
  const std::vector<Entry> entries = {
      {"sync", SyncRoundTrip, false},
      {"sync_run", SyncRun, false},
      {"sync_map", SyncMapOfOne, false},
      {"pipelined", Pipelined, true},
      {"one_rpc", OneRpcPerTask, true},
      {"map", Map, true},
      {"as_completed", AsCompleted, false},
      {"sleeps", Sleeps, true},
      {"factorials", Factorials, false},
      {"waiters", Waiters, false},
      {"retained", RetainedMemory, false},
      {"submit_to_start", SubmitToStart, false},
  };
  for (const Entry& entry : entries) {
    if (name != entry.name) continue;
    std::vector<std::string> pools = {"thread"};
    if (entry.per_pool) pools = absl::GetFlag(FLAGS_pools);
    for (const std::string& pool : pools) {
      const ProcSample before = ProcSample::Read(daemon.pid);
      const ProcSample client_before = ProcSample::Read(getpid());
      absl::StatusOr<Figures> figures = entry.run(daemon, pool, sizes);
      if (!figures.ok()) {
        return absl::Status(
            figures.status().code(),
            absl::StrCat(name, " on ", pool, ": ", figures.status().message()));
      }
      figures->extra.emplace_back(
          "client_cpu_s",
          ProcSample::Read(getpid()).cpu_seconds - client_before.cpu_seconds);
      Print(*figures, before, ProcSample::Read(daemon.pid));
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown workload ", name));
}

int Main(const std::string& self) {
  const Sizes sizes = SizesFromFlags();
  const bool unix_socket = absl::GetFlag(FLAGS_unix_socket);
  std::unique_ptr<testing::DaemonProcess> started;
  Daemon daemon{.client = nullptr,
                .address = absl::GetFlag(FLAGS_target),
                .pid = absl::GetFlag(FLAGS_daemon_pid)};
  if (daemon.address.empty()) {
    auto process = testing::DaemonProcess::Start(
        {.unix_socket = unix_socket,
         .flags = absl::GetFlag(FLAGS_daemon_flags)});
    if (!process.ok()) {
      std::fprintf(stderr, "futured-bench: %s\n",
                   process.status().ToString().c_str());
      return 1;
    }
    started = *std::move(process);
    daemon.address = started->address();
    daemon.pid = started->pid();
  }
  Client client(daemon.address);
  daemon.client = &client;
  for (const std::string& name : absl::GetFlag(FLAGS_workloads)) {
    absl::Status status = name == "echo" ? RunEcho(self, unix_socket, sizes)
                                         : RunWorkload(name, daemon, sizes);
    if (!status.ok()) {
      std::fprintf(stderr, "futured-bench: %s\n", status.ToString().c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace futured::bench

namespace {

// --help lists this file's flags (absl's default looks for a file named
// after the program, futured-bench.cc, and would match none).
bool IsBenchFlagFile(absl::string_view filename) {
  return absl::EndsWith(filename, "bench/futured_bench.cc");
}

}  // namespace

int main(int argc, char** argv) {
  futured::ConfigureMutexDeadlockDetection();
  absl::SetProgramUsageMessage(
      "drives a futured daemon through the client library and prints one "
      "line of figures per workload.\n  futured-bench [--workloads=...] "
      "[--pools=...] [--target=HOST:PORT --daemon_pid=PID]");
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = IsBenchFlagFile;
  usage.contains_helpshort_flags = IsBenchFlagFile;
  absl::SetFlagsUsageConfig(usage);
  absl::ParseCommandLine(argc, argv);
  if (absl::GetFlag(FLAGS_echo_server)) {
    return futured::bench::RunEchoServer(absl::GetFlag(FLAGS_listen));
  }
  return futured::bench::Main("/proc/self/exe");
}
