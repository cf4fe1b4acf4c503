#include "server/task_metrics.h"

#include <algorithm>

namespace futured::server {

TaskMetrics::Counters& TaskMetrics::CountersFor(absl::string_view function) {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = functions_.find(function);
    if (it != functions_.end()) return *it->second;
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Counters>& counters = functions_[function];
  if (counters == nullptr) counters = std::make_unique<Counters>();
  return *counters;
}

void TaskMetrics::Record(absl::string_view function, TaskOutcome outcome,
                         std::optional<absl::Duration> run_time) {
  Counters& counters = CountersFor(function);
  constexpr auto kRelaxed = std::memory_order_relaxed;
  switch (outcome) {
    case TaskOutcome::kFinished:
      counters.finished.fetch_add(1, kRelaxed);
      break;
    case TaskOutcome::kFailed:
      counters.failed.fetch_add(1, kRelaxed);
      break;
    case TaskOutcome::kCancelled:
      counters.cancelled.fetch_add(1, kRelaxed);
      break;
  }
  if (!run_time) return;
  const double seconds = absl::ToDoubleSeconds(*run_time);
  const auto bucket =
      std::lower_bound(kRunTimeBuckets.begin(), kRunTimeBuckets.end(), seconds);
  if (bucket != kRunTimeBuckets.end()) {
    counters.buckets[bucket - kRunTimeBuckets.begin()].fetch_add(1, kRelaxed);
  }
  counters.run_nanos_sum.fetch_add(absl::ToInt64Nanoseconds(*run_time),
                                   kRelaxed);
  counters.run_count.fetch_add(1, kRelaxed);
}

std::vector<FunctionStats> TaskMetrics::Snapshot() const {
  std::vector<FunctionStats> all;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [name, counters] : functions_) {
    constexpr auto kRelaxed = std::memory_order_relaxed;
    FunctionStats stats{.name = name,
                        .finished = counters->finished.load(kRelaxed),
                        .failed = counters->failed.load(kRelaxed),
                        .cancelled = counters->cancelled.load(kRelaxed)};
    int64_t cumulative = 0;
    for (size_t i = 0; i < kRunTimeBuckets.size(); ++i) {
      cumulative += counters->buckets[i].load(kRelaxed);
      stats.run_time_buckets[i] = cumulative;
    }
    // Read after the buckets, so that it is never below the last of them.
    stats.run_count = std::max(cumulative, counters->run_count.load(kRelaxed));
    stats.run_seconds_sum =
        static_cast<double>(counters->run_nanos_sum.load(kRelaxed)) / 1e9;
    all.push_back(std::move(stats));
  }
  std::sort(all.begin(), all.end(),
            [](const FunctionStats& a, const FunctionStats& b) {
              return a.name < b.name;
            });
  return all;
}

}  // namespace futured::server
