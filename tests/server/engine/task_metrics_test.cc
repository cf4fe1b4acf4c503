#include "server/engine/task_metrics.h"

#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace futured::server {
namespace {

TEST(TaskMetricsTest, CountsOutcomesAndCumulativeRunTimeBuckets) {
  TaskMetrics metrics;
  metrics.Record("square", TaskOutcome::kFinished, absl::Microseconds(500));
  metrics.Record("square", TaskOutcome::kFinished, absl::Milliseconds(70));
  metrics.Record("square", TaskOutcome::kFailed, absl::Seconds(2));
  metrics.Record("square", TaskOutcome::kFailed, absl::Seconds(1000));
  // Cancelled in the queue: counted, but it never ran.
  metrics.Record("sleep", TaskOutcome::kCancelled, std::nullopt);

  std::vector<FunctionStats> all = metrics.Snapshot();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "sleep");
  EXPECT_EQ(all[0].cancelled, 1);
  EXPECT_EQ(all[0].run_count, 0);
  const FunctionStats& square = all[1];
  EXPECT_EQ(square.finished, 2);
  EXPECT_EQ(square.failed, 2);
  EXPECT_EQ(square.cancelled, 0);
  // Bounds: 0.001 0.005 0.01 0.05 0.1 0.5 1 5 10 30 60 300.
  const std::vector<int64_t> expected = {1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3};
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(square.run_time_buckets[i], expected[i]) << "le " << i;
  }
  EXPECT_EQ(square.run_count, 4);  // 1000 s is only in +Inf
  EXPECT_NEAR(square.run_seconds_sum, 1002.0705, 1e-6);
}

TEST(TaskMetricsTest, KnownAndUnknownFunctionsAreCountedAlikeIdleOnesLeftOut) {
  TaskMetrics metrics({"square", "echo"});
  metrics.Record("square", TaskOutcome::kFinished, absl::Milliseconds(2));
  metrics.Record("late", TaskOutcome::kFailed, absl::Milliseconds(2));
  std::vector<FunctionStats> all = metrics.Snapshot();
  ASSERT_EQ(all.size(), 2u);  // "echo" never completed a future
  EXPECT_EQ(all[0].name, "late");
  EXPECT_EQ(all[0].failed, 1);
  EXPECT_EQ(all[1].name, "square");
  EXPECT_EQ(all[1].finished, 1);
  EXPECT_EQ(all[1].run_time_buckets[1], 1);  // le 0.005
}

TEST(TaskMetricsTest, BoundaryValueFallsInItsBucket) {
  TaskMetrics metrics;
  metrics.Record("f", TaskOutcome::kFinished, absl::Seconds(1));
  const FunctionStats stats = metrics.Snapshot()[0];
  EXPECT_EQ(stats.run_time_buckets[5], 0);  // le 0.5
  EXPECT_EQ(stats.run_time_buckets[6], 1);  // le 1: "at most"
}

TEST(TaskMetricsTest, ConcurrentRecordsAreAllCounted) {
  TaskMetrics metrics({"even"});  // one known up front, one not
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&metrics, t] {
      for (int i = 0; i < 1000; ++i) {
        metrics.Record(t % 2 == 0 ? "even" : "odd", TaskOutcome::kFinished,
                       absl::Milliseconds(1));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  std::vector<FunctionStats> all = metrics.Snapshot();
  ASSERT_EQ(all.size(), 2u);
  for (const FunctionStats& stats : all) {
    EXPECT_EQ(stats.finished, 2000) << stats.name;
    EXPECT_EQ(stats.run_count, 2000) << stats.name;
    EXPECT_EQ(stats.run_time_buckets[0], 2000) << stats.name;
  }
}

}  // namespace
}  // namespace futured::server
