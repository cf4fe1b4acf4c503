// What the dashboard plots beyond the engine's counters: done futures per
// second over the last minutes, and run-time percentiles per function.
#ifndef FUTURED_SERVER_DAEMON_DASHBOARD_FIGURES_H_
#define FUTURED_SERVER_DAEMON_DASHBOARD_FIGURES_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/engine/task_metrics.h"

namespace futured::server {

// Done futures per second, from samples of a cumulative count (the sum of
// every function's finished, failed and cancelled) taken about once a
// second by one sampler. Keeps the last `capacity` samples, so its memory
// is bounded. Thread-safe: Record() and Rates() may race.
class ThroughputHistory {
 public:
  // One interval between two samples.
  struct Rate {
    absl::Time end;     // when the later sample was taken
    double per_second;  // futures done per second within the interval
  };

  explicit ThroughputHistory(size_t capacity = 300);
  ThroughputHistory(const ThroughputHistory&) = delete;
  ThroughputHistory& operator=(const ThroughputHistory&) = delete;

  // Adds a sample of the cumulative `done` count at `now`. A sample not
  // later than the last one is ignored; a count lower than the last (not
  // cumulative) is taken as a restart from zero.
  void Record(absl::Time now, int64_t done) ABSL_LOCKS_EXCLUDED(mu_);

  // The rate of each interval between consecutive samples, oldest first:
  // at most capacity - 1 of them.
  std::vector<Rate> Rates() const ABSL_LOCKS_EXCLUDED(mu_);

  // Every function's done futures added up: what Record() takes.
  static int64_t DoneTotal(const std::vector<FunctionStats>& functions);

 private:
  struct Sample {
    absl::Time time;
    int64_t done;
  };

  const size_t capacity_;
  mutable absl::Mutex mu_;
  std::deque<Sample> samples_ ABSL_GUARDED_BY(mu_);
};

// The run time (seconds) below which `quantile` (in [0, 1]) of `stats`'
// runs fall, estimated from its histogram (kRunTimeBuckets) by linear
// interpolation within the bucket that holds it, as Prometheus'
// histogram_quantile() does; a quantile in the +Inf bucket is the last
// bound. Unset when no run was recorded.
std::optional<double> RunTimeQuantile(const FunctionStats& stats,
                                      double quantile);

}  // namespace futured::server

#endif  // FUTURED_SERVER_DAEMON_DASHBOARD_FIGURES_H_
