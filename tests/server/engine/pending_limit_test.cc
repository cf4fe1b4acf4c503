#include "server/engine/pending_limit.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace futured::server {
namespace {

TEST(PendingLimitTest, RefusesPastTheLimitAndCountsEachPrincipalApart) {
  PendingLimit limit(2);
  EXPECT_TRUE(limit.Acquire("alice").ok());
  EXPECT_TRUE(limit.Acquire("alice").ok());
  const absl::Status third = limit.Acquire("alice");
  EXPECT_EQ(third.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(third.message().find("principal 'alice' has 2 futures pending"),
            absl::string_view::npos)
      << third;
  EXPECT_EQ(limit.pending("alice"), 2);  // the refusal counted nothing
  EXPECT_TRUE(limit.Acquire("bob").ok());
  EXPECT_EQ(limit.pending("bob"), 1);
}

TEST(PendingLimitTest, ReleaseGivesASlotBack) {
  PendingLimit limit(1);
  ASSERT_TRUE(limit.Acquire("").ok());
  EXPECT_NE(limit.Acquire("").message().find("the anonymous caller"),
            absl::string_view::npos);
  limit.Release("");
  EXPECT_EQ(limit.pending(""), 0);
  EXPECT_TRUE(limit.Acquire("").ok());
}

TEST(PendingLimitTest, ManyAtOnceAreAllCountedOrNone) {
  PendingLimit limit(5);
  ASSERT_TRUE(limit.Acquire("alice", 3).ok());
  const absl::Status refused = limit.Acquire("alice", 3);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.message().find("has 3 futures pending and asks for 3 more"),
            absl::string_view::npos)
      << refused;
  EXPECT_EQ(limit.pending("alice"), 3);
  EXPECT_TRUE(limit.Acquire("alice", 2).ok());
  limit.Release("alice", 4);
  EXPECT_EQ(limit.pending("alice"), 1);
  EXPECT_FALSE(limit.Acquire("bob", 6).ok());
  EXPECT_EQ(limit.pending("bob"), 0);
}

TEST(PendingLimitTest, ZeroIsUnlimitedAndCountsNothing) {
  PendingLimit limit(0);
  EXPECT_FALSE(limit.enabled());
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limit.Acquire("alice").ok());
  EXPECT_EQ(limit.pending("alice"), 0);
}

TEST(PendingLimitTest, ConcurrentAcquiresNeverExceedTheLimit) {
  constexpr int kLimit = 50;
  PendingLimit limit(kLimit);
  std::vector<std::thread> threads;
  std::vector<int> granted(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        if (limit.Acquire("alice").ok()) ++granted[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(granted[0] + granted[1] + granted[2] + granted[3], kLimit);
  EXPECT_EQ(limit.pending("alice"), kLimit);
  for (int i = 0; i < kLimit; ++i) limit.Release("alice");
  EXPECT_EQ(limit.pending("alice"), 0);
}

}  // namespace
}  // namespace futured::server
