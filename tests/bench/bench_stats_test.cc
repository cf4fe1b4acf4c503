// futured-bench's figures: latency percentiles and /proc readings.
#include <unistd.h>

#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "bench/latencies.h"
#include "bench/proc_sample.h"
#include "gtest/gtest.h"

namespace futured::bench {
namespace {

TEST(LatenciesTest, PercentilesAreNearestRank) {
  Latencies latencies;
  EXPECT_EQ(latencies.Percentile(50), 0);  // empty
  for (int us = 100; us >= 1; --us) latencies.Add(absl::Microseconds(us));
  EXPECT_EQ(latencies.Percentile(50), 50);
  EXPECT_EQ(latencies.Percentile(99), 99);
  EXPECT_EQ(latencies.Percentile(99.9), 100);
  EXPECT_EQ(latencies.Percentile(100), 100);
  EXPECT_EQ(latencies.Percentile(0.5), 1);
}

TEST(LatenciesTest, MergeAddsTheOthersSamples) {
  Latencies a;
  Latencies b;
  a.Add(absl::Microseconds(10));
  EXPECT_EQ(a.Percentile(50), 10);  // sorts a once
  b.Add(absl::Microseconds(1));
  b.Add(absl::Microseconds(2));
  a.Merge(b);
  EXPECT_EQ(a.Percentile(50), 2);
  EXPECT_EQ(a.Percentile(100), 10);
}

TEST(ProcSampleTest, ReadsThisProcess) {
  const ProcSample before = ProcSample::Read(getpid());
  EXPECT_GE(before.threads, 1);
  EXPECT_GT(before.rss_bytes, 0);
  // Touch memory and burn CPU; neither figure can go down.
  std::vector<char> block(64 << 20, 1);
  volatile uint64_t sum = 0;
  for (char c : block) sum = sum + c;
  const ProcSample after = ProcSample::Read(getpid());
  EXPECT_GT(after.rss_bytes, before.rss_bytes);
  EXPECT_GE(after.cpu_seconds, before.cpu_seconds);
  EXPECT_EQ(sum, block.size());
}

TEST(ProcSampleTest, AProcessThatIsGoneReadsAsZero) {
  const ProcSample gone = ProcSample::Read(0x3fffffff);  // above pid_max
  EXPECT_EQ(gone.cpu_seconds, 0);
  EXPECT_EQ(gone.rss_bytes, 0);
  EXPECT_EQ(gone.threads, 0);
}

}  // namespace
}  // namespace futured::bench
