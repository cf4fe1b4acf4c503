#include "server/daemon/dashboard_figures.h"

#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/engine/task_metrics.h"

namespace futured::server {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1000);

TEST(ThroughputHistoryTest, RatesAreDonePerSecondBetweenSamples) {
  ThroughputHistory history(10);
  EXPECT_TRUE(history.Rates().empty());
  history.Record(kT0, 100);
  EXPECT_TRUE(history.Rates().empty());
  history.Record(kT0 + absl::Seconds(1), 150);
  history.Record(kT0 + absl::Seconds(3), 250);
  const std::vector<ThroughputHistory::Rate> rates = history.Rates();
  ASSERT_EQ(rates.size(), 2u);
  EXPECT_EQ(rates[0].end, kT0 + absl::Seconds(1));
  EXPECT_DOUBLE_EQ(rates[0].per_second, 50);
  EXPECT_DOUBLE_EQ(rates[1].per_second, 50);  // 100 in 2 s
}

TEST(ThroughputHistoryTest, KeepsOnlyTheLastSamples) {
  ThroughputHistory history(3);
  for (int i = 0; i < 10; ++i) history.Record(kT0 + absl::Seconds(i), i * 10);
  const std::vector<ThroughputHistory::Rate> rates = history.Rates();
  ASSERT_EQ(rates.size(), 2u);
  EXPECT_EQ(rates.back().end, kT0 + absl::Seconds(9));
}

TEST(ThroughputHistoryTest, IgnoresSamplesOutOfOrderAndSurvivesACountReset) {
  ThroughputHistory history(10);
  history.Record(kT0, 100);
  history.Record(kT0, 500);                     // same time: ignored
  history.Record(kT0 - absl::Seconds(1), 500);  // earlier: ignored
  history.Record(kT0 + absl::Seconds(1), 20);   // lower: counted from 0
  const std::vector<ThroughputHistory::Rate> rates = history.Rates();
  ASSERT_EQ(rates.size(), 1u);
  EXPECT_DOUBLE_EQ(rates[0].per_second, 20);
}

TEST(ThroughputHistoryTest, DoneTotalAddsEveryOutcomeOfEveryFunction) {
  std::vector<FunctionStats> functions(2);
  functions[0].finished = 1;
  functions[0].failed = 2;
  functions[1].cancelled = 4;
  EXPECT_EQ(ThroughputHistory::DoneTotal(functions), 7);
}

// Stats with `runs[i]` runs in bucket i (not cumulative).
FunctionStats WithRuns(const std::vector<int64_t>& runs) {
  FunctionStats stats;
  int64_t cumulative = 0;
  for (size_t i = 0; i < kRunTimeBuckets.size(); ++i) {
    if (i < runs.size()) cumulative += runs[i];
    stats.run_time_buckets[i] = cumulative;
  }
  stats.run_count = cumulative;
  for (size_t i = kRunTimeBuckets.size(); i < runs.size(); ++i) {
    stats.run_count += runs[i];  // beyond the last bound: +Inf
  }
  return stats;
}

TEST(RunTimeQuantileTest, NoRunsHasNoQuantile) {
  EXPECT_EQ(RunTimeQuantile(FunctionStats{}, 0.5), std::nullopt);
}

TEST(RunTimeQuantileTest, InterpolatesWithinTheBucketThatHoldsTheRank) {
  // 10 runs in (0, 0.001], 10 in (0.005, 0.01].
  const FunctionStats stats = WithRuns({10, 0, 10});
  EXPECT_DOUBLE_EQ(*RunTimeQuantile(stats, 0.25), 0.0005);
  EXPECT_DOUBLE_EQ(*RunTimeQuantile(stats, 0.5), 0.001);
  EXPECT_DOUBLE_EQ(*RunTimeQuantile(stats, 0.75), 0.0075);
  EXPECT_DOUBLE_EQ(*RunTimeQuantile(stats, 1), 0.01);
}

TEST(RunTimeQuantileTest, ARankBeyondTheLastBoundIsTheLastBound) {
  std::vector<int64_t> runs(kRunTimeBuckets.size() + 1, 0);
  runs.back() = 5;  // all in +Inf
  EXPECT_DOUBLE_EQ(*RunTimeQuantile(WithRuns(runs), 0.99),
                   kRunTimeBuckets.back());
}

TEST(RunTimeQuantileTest, QuantilesOutsideZeroToOneAreClamped) {
  const FunctionStats stats = WithRuns({4});
  EXPECT_DOUBLE_EQ(*RunTimeQuantile(stats, 7), 0.001);
  EXPECT_DOUBLE_EQ(*RunTimeQuantile(stats, -1), 0);
}

}  // namespace
}  // namespace futured::server
