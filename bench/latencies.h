// Latencies of many operations, and their percentiles.
#ifndef FUTURED_BENCH_LATENCIES_H_
#define FUTURED_BENCH_LATENCIES_H_

#include <vector>

#include "absl/time/time.h"

namespace futured::bench {

// Collects durations; Percentile() sorts them once. Thread-compatible.
class Latencies {
 public:
  void Add(absl::Duration d) {
    micros_.push_back(absl::ToDoubleMicroseconds(d));
  }
  bool empty() const { return micros_.empty(); }
  void Merge(const Latencies& other) {
    micros_.insert(micros_.end(), other.micros_.begin(), other.micros_.end());
    sorted_ = false;
  }

  // The p-th percentile (0 < p <= 100), nearest rank, in microseconds; 0
  // when empty.
  double Percentile(double p);

 private:
  std::vector<double> micros_;
  bool sorted_ = false;
};

}  // namespace futured::bench

#endif  // FUTURED_BENCH_LATENCIES_H_
