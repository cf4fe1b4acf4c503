// futured_soak: a bounded soak test of a real futured on loopback. Client
// threads submit, wait, cancel, time out and crash tasks at random in both
// pools while a fault injector SIGKILLs process-pool workers mid-task. It
// checks that every future reaches exactly one final state, every waiting
// call is answered, the daemon's counts agree with what the clients saw,
// and no process, thread or descriptor leaks; it prints its figures and the
// daemon's resident memory over time. Exit status 0 if all checks held.
//
//   futured_soak --duration=120s          (tests/soak/run.sh)
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "tests/integration/daemon_process.h"
#include "tests/poll_until.h"
#include "tests/soak/process_census.h"
#include "tests/soak/soak_workload.h"

ABSL_FLAG(absl::Duration, duration, absl::Seconds(120),
          "how long the load runs (after a warm-up of a tenth of it)");
ABSL_FLAG(int, clients, 8, "client threads, each with its own connection");
ABSL_FLAG(int, processes, 4, "the daemon's process-pool workers");
ABSL_FLAG(int, threads, 8, "the daemon's thread-pool workers");
ABSL_FLAG(absl::Duration, retention, absl::Seconds(5),
          "the daemon's --retention");
ABSL_FLAG(absl::Duration, kill_every, absl::Milliseconds(250),
          "mean interval between worker kills");
ABSL_FLAG(uint64_t, seed, 0, "random seed (0: from the clock)");
ABSL_FLAG(double, rss_growth_allowance, 1.25,
          "fail if the last quarter's mean RSS exceeds the first quarter's "
          "times this, plus 8 MiB (not checked under ASan, whose quarantine "
          "holds freed memory by design)");

namespace futured::soak {
namespace {

using futured::testing::DaemonProcess;
using futured::testing::PollUntil;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif
#else
constexpr bool kAddressSanitizer = false;
#endif

struct Sample {
  absl::Duration at;
  ProcessCensus census;
};

// Runs `clients` threads of SoakClient::RunOne until `stop`.
class Load {
 public:
  Load(const DaemonProcess& daemon, int clients, uint64_t seed, Tally* tally,
       KillTargets* targets) {
    for (int c = 0; c < clients; ++c) {
      grpc::ChannelArguments args;
      args.SetInt("futured.soak.client", c);  // a connection each
      auto channel = grpc::CreateCustomChannel(
          daemon.address(), grpc::InsecureChannelCredentials(), args);
      threads_.emplace_back([this, channel, tally, targets, seed, c] {
        SoakClient client(channel, tally, targets, seed * 1000 + c);
        while (!stop_.load()) {
          client.RunOne();
          ops_.fetch_add(1);
        }
      });
    }
  }
  // Stops and joins: each thread first finishes (and checks) its operation.
  int64_t Stop() {
    stop_.store(true);
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
    return ops_.load();
  }
  ~Load() { Stop(); }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> ops_{0};
  std::vector<std::thread> threads_;
};

// Nothing queued or running, and every process pool back to full strength.
bool Quiet(futured::v1::Executor::Stub& stub, int processes) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  futured::v1::GetStatsRequest request;
  futured::v1::GetStatsResponse stats;
  if (!stub.GetStats(&context, request, &stats).ok()) return false;
  for (const auto& pool : stats.pools()) {
    if (pool.queued() != 0 || pool.running() != 0) return false;
    if (pool.kind() == "process" && pool.workers() != processes) return false;
  }
  return true;
}

futured::v1::GetStatsResponse Stats(futured::v1::Executor::Stub& stub) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
  futured::v1::GetStatsRequest request;
  futured::v1::GetStatsResponse stats;
  stub.GetStats(&context, request, &stats);
  return stats;
}

// Waits for the daemon to settle after load: quiet pools, exactly
// `processes` children and none a zombie.
bool Settle(futured::v1::Executor::Stub& stub, pid_t pid, int processes) {
  return PollUntil(
      [&] {
        if (!Quiet(stub, processes)) return false;
        const ProcessCensus census = ProcessCensus::Take(pid);
        return static_cast<int>(census.children.size()) == processes &&
               census.zombie_children == 0;
      },
      absl::Seconds(60));
}

// gRPC's own pools grow to a high-water mark and keep their threads until
// shutdown: its executor ("default-executor", cut to "default-executo" by the
// kernel's 15-byte limit) starts threads as load needs them, and its timer
// manager ("grpc_global_timer") starts one whenever every timer thread is busy
// running timers. Growth within 2 per core is not a leak.
bool IsGrpcPool(const std::string& thread_name) {
  return thread_name == "default-executo" || thread_name == "grpc_global_tim";
}

// Any group of threads that grew beyond what is allowed is a leak. "" if none.
std::string ThreadGrowth(const ProcessCensus& before,
                         const ProcessCensus& after) {
  const int grpc_pool_bound =
      2 * static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::string grown;
  for (const auto& [name, n] : after.thread_names) {
    const auto was = before.thread_names.find(name);
    const int before_n = was == before.thread_names.end() ? 0 : was->second;
    const int allowed =
        IsGrpcPool(name) ? std::max(before_n, grpc_pool_bound) : before_n;
    if (n > allowed) absl::StrAppend(&grown, " ", name, " ", before_n, "->", n);
  }
  return grown;
}

double MiB(int64_t bytes) { return bytes / 1048576.0; }

double MeanRss(const std::vector<Sample>& samples, size_t from, size_t to) {
  if (to <= from) return 0;
  double sum = 0;
  for (size_t i = from; i < to; ++i) sum += samples[i].census.rss_bytes;
  return sum / (to - from);
}

int Main() {
  const absl::Duration duration = absl::GetFlag(FLAGS_duration);
  const int clients = absl::GetFlag(FLAGS_clients);
  const int processes = absl::GetFlag(FLAGS_processes);
  uint64_t seed = absl::GetFlag(FLAGS_seed);
  if (seed == 0) seed = absl::ToUnixNanos(absl::Now()) % 1000000;
  std::printf("futured soak: %s of load, %d clients, seed %llu\n",
              absl::FormatDuration(duration).c_str(), clients,
              static_cast<unsigned long long>(seed));

  absl::StatusOr<std::unique_ptr<DaemonProcess>> started = DaemonProcess::Start(
      {.flags = {
           absl::StrCat("--processes=", processes),
           absl::StrCat("--threads=", absl::GetFlag(FLAGS_threads)),
           absl::StrCat("--retention=",
                        absl::FormatDuration(absl::GetFlag(FLAGS_retention))),
           "--worker_kill_grace=100ms", "--cancel_grace=500ms",
           "--log_level=error"}});
  if (!started.ok()) {
    std::fprintf(stderr, "futured_soak: %s\n",
                 started.status().ToString().c_str());
    return 1;
  }
  std::unique_ptr<DaemonProcess> daemon = *std::move(started);
  const pid_t pid = daemon->pid();
  auto stub = daemon->NewStub();
  Tally tally;
  KillTargets targets;
  std::vector<std::string> failures;

  // Warm-up: the same load without kills, so that gRPC's and the pools'
  // threads exist before the baseline is taken.
  {
    Load warm_up(*daemon, clients, seed, &tally, &targets);
    absl::SleepFor(std::max(duration / 10, absl::Seconds(1)));
  }
  if (!Settle(*stub, pid, processes))
    failures.push_back("did not settle after warm-up");
  const ProcessCensus before = ProcessCensus::Take(pid);

  // The soak: load, kills and a sample a second.
  std::vector<Sample> samples;
  int64_t kills = 0;
  int64_t ops = 0;
  const absl::Time start = absl::Now();
  {
    Load load(*daemon, clients, seed + 1, &tally, &targets);
    std::mt19937_64 rng(seed + 2);
    const int64_t mean_ms =
        absl::ToInt64Milliseconds(absl::GetFlag(FLAGS_kill_every));
    absl::Time next_sample = start;
    while (absl::Now() - start < duration) {
      if (absl::Now() >= next_sample) {
        samples.push_back({absl::Now() - start, ProcessCensus::Take(pid)});
        next_sample += absl::Seconds(1);
      }
      absl::SleepFor(absl::Milliseconds(
          std::uniform_int_distribution<int64_t>(1, 2 * mean_ms)(rng)));
      if (KillOneWorker(*stub, targets, pid, rng)) ++kills;
    }
    ops = load.Stop();
  }
  const absl::Duration ran = absl::Now() - start;

  // After: settled, then nothing may have leaked.
  if (!Settle(*stub, pid, processes))
    failures.push_back("did not settle after the soak");
  ProcessCensus after = ProcessCensus::Take(pid);
  // Threads and descriptors of finished calls go back in a moment.
  PollUntil(
      [&] {
        after = ProcessCensus::Take(pid);
        return ThreadGrowth(before, after).empty() && after.fds <= before.fds;
      },
      absl::Seconds(30));

  // The daemon counted each future once, as the clients saw it end.
  const futured::v1::GetStatsResponse stats = Stats(*stub);
  const auto seen = tally.by_function();
  std::map<std::string, std::array<int64_t, 3>> counted;
  for (const auto& f : stats.functions()) {
    if (f.finished() + f.failed() + f.cancelled() == 0) continue;
    counted[f.function()] = {f.finished(), f.failed(), f.cancelled()};
  }
  if (counted != seen) {
    failures.push_back(
        "the daemon's per-function counts differ from the clients'");
    for (const auto& [function, c] : counted) {
      const auto& s = seen.contains(function) ? seen.at(function)
                                              : std::array<int64_t, 3>{};
      std::printf("  %-10s daemon %lld/%lld/%lld clients %lld/%lld/%lld\n",
                  function.c_str(), (long long)c[0], (long long)c[1],
                  (long long)c[2], (long long)s[0], (long long)s[1],
                  (long long)s[2]);
    }
  }
  if (static_cast<int>(after.children.size()) != processes) {
    failures.push_back(absl::StrCat(after.children.size(), " child processes, ",
                                    processes, " expected"));
  }
  if (after.zombie_children != 0) failures.push_back("zombie children");
  if (after.fds > before.fds) {
    failures.push_back(
        absl::StrCat("descriptors ", before.fds, " -> ", after.fds));
  }
  if (std::string grown = ThreadGrowth(before, after); !grown.empty()) {
    failures.push_back(absl::StrCat("threads ", before.threads, " -> ",
                                    after.threads, ":", grown));
  }
  const size_t quarter = samples.size() / 4;
  const double first_rss = MeanRss(samples, 0, quarter);
  const double last_rss =
      MeanRss(samples, samples.size() - quarter, samples.size());
  if (!kAddressSanitizer && quarter > 0 &&
      last_rss > first_rss * absl::GetFlag(FLAGS_rss_growth_allowance) +
                     8 * 1048576.0) {
    failures.push_back("resident memory kept growing");
  }
  for (const std::string& v : tally.violations()) failures.push_back(v);

  // Figures.
  std::printf(
      "ran %s: %lld operations, %lld futures ended (warm-up included), "
      "%lld workers SIGKILLed, %lld worker restarts\n",
      absl::FormatDuration(absl::Trunc(ran, absl::Milliseconds(1))).c_str(),
      (long long)ops, (long long)tally.futures(), (long long)kills, [&] {
        long long restarts = 0;
        for (const auto& p : stats.pools()) restarts += p.worker_restarts();
        return restarts;
      }());
  std::printf("futures by operation/pool and ending:\n");
  for (const auto& [label, n] : tally.by_label()) {
    std::printf("  %-40s %8lld\n", label.c_str(), (long long)n);
  }
  std::printf(
      "daemon before -> after: threads %d -> %d, fds %d -> %d, "
      "children %zu -> %zu (zombies %d)\n",
      before.threads, after.threads, before.fds, after.fds,
      before.children.size(), after.children.size(), after.zombie_children);
  std::printf("RSS (MiB) every %zu s:",
              std::max<size_t>(1, samples.size() / 12));
  for (size_t i = 0; i < samples.size();
       i += std::max<size_t>(1, samples.size() / 12)) {
    std::printf(" %.1f", MiB(samples[i].census.rss_bytes));
  }
  std::printf(
      "\nRSS mean first quarter %.1f MiB, last quarter %.1f MiB (x%.2f); "
      "threads during the soak %d..%d\n",
      MiB(first_rss), MiB(last_rss), first_rss > 0 ? last_rss / first_rss : 0,
      [&] {
        int m = 1 << 30;
        for (auto& s : samples) m = std::min(m, s.census.threads);
        return m;
      }(),
      [&] {
        int m = 0;
        for (auto& s : samples) m = std::max(m, s.census.threads);
        return m;
      }());

  absl::StatusOr<int> exit = daemon->Stop(SIGTERM);
  if (!exit.ok() || !WIFEXITED(*exit) || WEXITSTATUS(*exit) != 0) {
    failures.push_back("futured did not exit 0 on SIGTERM");
  }
  for (const std::string& failure : failures) {
    std::printf("FAILED: %s\n", failure.c_str());
  }
  std::printf(failures.empty() ? "soak passed\n" : "soak FAILED\n");
  return failures.empty() ? 0 : 1;
}

}  // namespace
}  // namespace futured::soak

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return futured::soak::Main();
}
