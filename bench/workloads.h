// futured-bench's workloads: each drives a daemon through the client library
// and reports what it measured.
#ifndef FUTURED_BENCH_WORKLOADS_H_
#define FUTURED_BENCH_WORKLOADS_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/latencies.h"
#include "futured/futured.h"

namespace futured::bench {

// What one workload measured; printed as one line of key=value pairs.
struct Figures {
  std::string workload;      // e.g. "thread.pipelined"
  int64_t count = 0;         // tasks (or calls, or futures)
  double seconds = 0;        // wall time of the timed part
  Latencies latencies = {};  // per task, when the workload measures them
  // Extra figures, printed as they are (e.g. threads_during=12).
  std::vector<std::pair<std::string, double>> extra = {};
};

// The daemon under test: a client for it and its PID (for /proc).
struct Daemon {
  Client* client;
  std::string address;
  pid_t pid;
};

// Sizes of the workloads (flags of futured-bench).
struct Sizes {
  int64_t pipelined = 200000;  // tasks per pool, batched
  int64_t one_rpc = 20000;     // tasks per pool, one Submit each
  int64_t sync = 5000;         // round trips
  int64_t map = 100000;        // map inputs
  int64_t as_completed = 100000;
  int64_t waiters = 10000;
  int64_t retained = 1000000;  // futures for the memory figure
  int64_t batch = 1000;        // calls per submit_batch
  int64_t window = 8;          // batches in flight
  int64_t map_buffersize = 8192;
  int one_rpc_threads = 16;  // client threads submitting one call each
};

// Each runs one workload on `pool` (where it has one) and returns its
// figures; an error if a call failed.
using Workload = std::function<absl::StatusOr<Figures>(
    const Daemon&, const std::string& pool, const Sizes&)>;

absl::StatusOr<Figures> Pipelined(const Daemon& d, const std::string& pool,
                                  const Sizes& sizes);
absl::StatusOr<Figures> OneRpcPerTask(const Daemon& d, const std::string& pool,
                                      const Sizes& sizes);
// One task at a time, as SyncRoundTrip, timing the client's Submit to the
// task's start (the daemon's start_time); `extra` adds the daemon's own
// submit_time-to-start_time p50.
absl::StatusOr<Figures> SubmitToStart(const Daemon& d, const std::string& pool,
                                      const Sizes& sizes);
absl::StatusOr<Figures> SyncRoundTrip(const Daemon& d, const std::string& pool,
                                      const Sizes& sizes);
absl::StatusOr<Figures> SyncRun(const Daemon& d, const std::string& pool,
                                const Sizes& sizes);
absl::StatusOr<Figures> SyncMapOfOne(const Daemon& d, const std::string& pool,
                                     const Sizes& sizes);
absl::StatusOr<Figures> Map(const Daemon& d, const std::string& pool,
                            const Sizes& sizes);
absl::StatusOr<Figures> AsCompleted(const Daemon& d, const std::string& pool,
                                    const Sizes& sizes);
absl::StatusOr<Figures> Waiters(const Daemon& d, const std::string& pool,
                                const Sizes& sizes);
// 100 x sleep(0.1), all submitted at once: the pool's concurrency.
absl::StatusOr<Figures> Sleeps(const Daemon& d, const std::string& pool,
                               const Sizes& sizes);
// The seed's example 2: map of factorial over 100000..130000, always on
// the process pool.
absl::StatusOr<Figures> Factorials(const Daemon& d, const std::string& pool,
                                   const Sizes& sizes);
absl::StatusOr<Figures> RetainedMemory(const Daemon& d, const std::string& pool,
                                       const Sizes& sizes);

}  // namespace futured::bench

#endif  // FUTURED_BENCH_WORKLOADS_H_
