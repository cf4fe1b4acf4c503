// Per-function task counters and run-time histograms, for /metrics and
// GetStats.
#ifndef FUTURED_SERVER_ENGINE_TASK_METRICS_H_
#define FUTURED_SERVER_ENGINE_TASK_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace futured::server {

// How a done future ended, as the metrics count it.
enum class TaskOutcome { kFinished, kFailed, kCancelled };

// Upper bounds (seconds) of the run-time histogram's buckets; +Inf is
// implied, as in Prometheus.
inline constexpr std::array<double, 12> kRunTimeBuckets = {
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300};

// One function's figures at one moment.
struct FunctionStats {
  std::string name;
  int64_t finished = 0;   // returned a value
  int64_t failed = 0;     // raised (timeouts and worker deaths included)
  int64_t cancelled = 0;  // cancelled, queued or running
  // Attempts that failed and were tried again (a retry policy). A retried
  // future is counted once above, when done, by how its last attempt ended,
  // with that attempt's run time.
  int64_t retried = 0;
  // Run time (start to end) of the futures that ran: bucket i counts runs
  // of at most kRunTimeBuckets[i] seconds (cumulative, as Prometheus'
  // `le`); run_count counts them all (+Inf).
  std::array<int64_t, kRunTimeBuckets.size()> run_time_buckets = {};
  int64_t run_count = 0;
  double run_seconds_sum = 0;
};

// Counts each done future by function and outcome, and its run time. Owned
// by the Engine. Thread-safe: Record() is called from the thread that
// completes a future. For the functions named at construction it takes no
// lock, only relaxed atomic increments; any other function takes a reader
// lock (a writer lock the first time).
class TaskMetrics {
 public:
  // `functions`: the registered tasks, known up front.
  explicit TaskMetrics(const std::vector<std::string>& functions = {});
  TaskMetrics(const TaskMetrics&) = delete;
  TaskMetrics& operator=(const TaskMetrics&) = delete;

  // `run_time` is unset for a future that never started.
  void Record(absl::string_view function, TaskOutcome outcome,
              std::optional<absl::Duration> run_time) ABSL_LOCKS_EXCLUDED(mu_);

  // Counts an attempt of `function` that failed and is tried again.
  void RecordRetry(absl::string_view function) ABSL_LOCKS_EXCLUDED(mu_);

  // Every function recorded so far, sorted by name.
  std::vector<FunctionStats> Snapshot() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Counters {
    std::atomic<int64_t> finished{0};
    std::atomic<int64_t> failed{0};
    std::atomic<int64_t> cancelled{0};
    std::atomic<int64_t> retried{0};
    // Not cumulative here: bucket i counts runs in (bound i-1, bound i].
    std::array<std::atomic<int64_t>, kRunTimeBuckets.size()> buckets{};
    std::atomic<int64_t> run_count{0};
    std::atomic<int64_t> run_nanos_sum{0};
  };

  Counters& CountersFor(absl::string_view function) ABSL_LOCKS_EXCLUDED(mu_);

  static void Add(Counters& counters, TaskOutcome outcome,
                  std::optional<absl::Duration> run_time);
  static FunctionStats Read(const std::string& name, const Counters& counters);

  // Constant after construction: read without a lock.
  absl::flat_hash_map<std::string, std::unique_ptr<Counters>> known_;

  mutable absl::Mutex mu_;
  // Functions not known up front. Entries are never removed, so a
  // Counters& stays valid.
  absl::flat_hash_map<std::string, std::unique_ptr<Counters>> others_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_ENGINE_TASK_METRICS_H_
