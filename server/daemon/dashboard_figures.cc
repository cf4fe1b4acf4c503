#include "server/daemon/dashboard_figures.h"

#include <algorithm>

namespace futured::server {

ThroughputHistory::ThroughputHistory(size_t capacity)
    : capacity_(std::max<size_t>(capacity, 2)) {}

void ThroughputHistory::Record(absl::Time now, int64_t done) {
  absl::MutexLock lock(&mu_);
  if (!samples_.empty() && now <= samples_.back().time) return;
  samples_.push_back(Sample{.time = now, .done = done});
  while (samples_.size() > capacity_) samples_.pop_front();
}

std::vector<ThroughputHistory::Rate> ThroughputHistory::Rates() const {
  absl::MutexLock lock(&mu_);
  std::vector<Rate> rates;
  if (samples_.size() < 2) return rates;
  rates.reserve(samples_.size() - 1);
  for (size_t i = 1; i < samples_.size(); ++i) {
    const Sample& before = samples_[i - 1];
    const Sample& after = samples_[i];
    const int64_t done =
        after.done >= before.done ? after.done - before.done : after.done;
    const double seconds = absl::ToDoubleSeconds(after.time - before.time);
    rates.push_back(Rate{.end = after.time,
                         .per_second = static_cast<double>(done) / seconds});
  }
  return rates;
}

int64_t ThroughputHistory::DoneTotal(
    const std::vector<FunctionStats>& functions) {
  int64_t total = 0;
  for (const FunctionStats& f : functions) {
    total += f.finished + f.failed + f.cancelled;
  }
  return total;
}

std::optional<double> RunTimeQuantile(const FunctionStats& stats,
                                      double quantile) {
  if (stats.run_count <= 0) return std::nullopt;
  const double rank =
      std::clamp(quantile, 0.0, 1.0) * static_cast<double>(stats.run_count);
  double lower_bound = 0;
  int64_t below = 0;  // runs in the buckets before this one
  for (size_t i = 0; i < kRunTimeBuckets.size(); ++i) {
    const int64_t cumulative = stats.run_time_buckets[i];
    if (static_cast<double>(cumulative) >= rank && cumulative > below) {
      const double within = (rank - static_cast<double>(below)) /
                            static_cast<double>(cumulative - below);
      return lower_bound + (kRunTimeBuckets[i] - lower_bound) * within;
    }
    lower_bound = kRunTimeBuckets[i];
    below = cumulative;
  }
  return kRunTimeBuckets.back();
}

}  // namespace futured::server
