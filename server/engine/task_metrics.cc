#include "server/engine/task_metrics.h"

#include <algorithm>

namespace futured::server {

TaskMetrics::TaskMetrics(const std::vector<std::string>& functions) {
  for (const std::string& name : functions) {
    known_.emplace(name, std::make_unique<Counters>());
  }
}

TaskMetrics::Counters& TaskMetrics::CountersFor(absl::string_view function) {
  if (auto it = known_.find(function); it != known_.end()) return *it->second;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = others_.find(function);
    if (it != others_.end()) return *it->second;
  }
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Counters>& counters = others_[function];
  if (counters == nullptr) counters = std::make_unique<Counters>();
  return *counters;
}

void TaskMetrics::Record(absl::string_view function, TaskOutcome outcome,
                         std::optional<absl::Duration> run_time) {
  Add(CountersFor(function), outcome, run_time);
}

void TaskMetrics::RecordRetry(absl::string_view function) {
  CountersFor(function).retried.fetch_add(1, std::memory_order_relaxed);
}

void TaskMetrics::Add(Counters& counters, TaskOutcome outcome,
                      std::optional<absl::Duration> run_time) {
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

FunctionStats TaskMetrics::Read(const std::string& name,
                                const Counters& counters) {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  FunctionStats stats{.name = name,
                      .finished = counters.finished.load(kRelaxed),
                      .failed = counters.failed.load(kRelaxed),
                      .cancelled = counters.cancelled.load(kRelaxed),
                      .retried = counters.retried.load(kRelaxed)};
  int64_t cumulative = 0;
  for (size_t i = 0; i < kRunTimeBuckets.size(); ++i) {
    cumulative += counters.buckets[i].load(kRelaxed);
    stats.run_time_buckets[i] = cumulative;
  }
  // Read after the buckets, so that it is never below the last of them.
  stats.run_count = std::max(cumulative, counters.run_count.load(kRelaxed));
  stats.run_seconds_sum =
      static_cast<double>(counters.run_nanos_sum.load(kRelaxed)) / 1e9;
  return stats;
}

std::vector<FunctionStats> TaskMetrics::Snapshot() const {
  std::vector<FunctionStats> all;
  // A function that never completed a future is left out.
  auto add = [&all](const std::string& name, const Counters& counters) {
    FunctionStats stats = Read(name, counters);
    if (stats.finished + stats.failed + stats.cancelled + stats.retried > 0) {
      all.push_back(std::move(stats));
    }
  };
  for (const auto& [name, counters] : known_) add(name, *counters);
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [name, counters] : others_) add(name, *counters);
  }
  std::sort(all.begin(), all.end(),
            [](const FunctionStats& a, const FunctionStats& b) {
              return a.name < b.name;
            });
  return all;
}

}  // namespace futured::server
