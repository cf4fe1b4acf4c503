#include "bench/latencies.h"

#include <algorithm>
#include <cmath>
#include <cstddef>

namespace futured::bench {

double Latencies::Percentile(double p) {
  if (micros_.empty()) return 0;
  if (!sorted_) {
    std::sort(micros_.begin(), micros_.end());
    sorted_ = true;
  }
  const double rank =
      std::ceil(p / 100.0 * static_cast<double>(micros_.size()));
  const std::size_t index = static_cast<std::size_t>(
      std::clamp(rank, 1.0, static_cast<double>(micros_.size())));
  return micros_[index - 1];
}

}  // namespace futured::bench
