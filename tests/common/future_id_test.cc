#include "common/future_id.h"

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace futured {
namespace {

using ::testing::MatchesRegex;

constexpr char kVersion7Uuid[] =
    "[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

// The Unix time in milliseconds that a UUIDv7 begins with.
int64_t MillisOf(const std::string& id) {
  int64_t millis = 0;
  for (char c : id.substr(0, 13)) {
    if (c == '-') continue;
    millis = millis * 16 + (c <= '9' ? c - '0' : c - 'a' + 10);
  }
  return millis;
}

TEST(NewFutureIdTest, IsVersion7UuidShape) {
  for (int i = 0; i < 100; ++i) {
    const std::string id = NewFutureId();
    ASSERT_EQ(id.size(), 36u) << id;
    EXPECT_THAT(id, MatchesRegex(kVersion7Uuid));
    EXPECT_TRUE(ValidateFutureId(id).ok()) << id;
  }
}

// Time first, so that the journal's index on IDs grows at its end rather
// than at random places.
TEST(NewFutureIdTest, BeginsWithTheTimeItWasMadeInMilliseconds) {
  const int64_t before = absl::ToUnixMillis(absl::Now());
  const std::string id = NewFutureId();
  const int64_t after = absl::ToUnixMillis(absl::Now());
  EXPECT_GE(MillisOf(id), before) << id;
  EXPECT_LE(MillisOf(id), after) << id;
  absl::SleepFor(absl::Milliseconds(2));
  const std::string later = NewFutureId();
  EXPECT_GT(later, id);
}

TEST(NewFutureIdTest, TenThousandIdsAreUnique) {
  absl::flat_hash_set<std::string> ids;
  for (int i = 0; i < 10000; ++i) {
    const std::string id = NewFutureId();
    EXPECT_TRUE(ids.insert(id).second) << "duplicate " << id;
  }
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(NewFutureIdTest, IdsMadeOnManyThreadsAreUniqueAndWellFormed) {
  // Each thread draws from its own buffer of random bytes, refilled every
  // 409 IDs: 4 threads x 2,000 IDs cross many refills.
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  std::vector<std::vector<std::string>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&made, t] {
      for (int i = 0; i < kPerThread; ++i) made[t].push_back(NewFutureId());
    });
  }
  for (std::thread& thread : threads) thread.join();
  absl::flat_hash_set<std::string> ids;
  for (const auto& some : made) {
    for (const std::string& id : some) {
      EXPECT_THAT(id, MatchesRegex(kVersion7Uuid));
      EXPECT_TRUE(ids.insert(id).second) << "duplicate " << id;
    }
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST(ValidateFutureIdTest, EmptyIsInvalid) {
  absl::Status s = ValidateFutureId("");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("future id"));
}

TEST(ValidateFutureIdTest, TooLongIsInvalid) {
  absl::Status s = ValidateFutureId(std::string(4096, 'a'));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("future id"));
}

TEST(ValidateFutureIdTest, ContentIsOpaque) {
  EXPECT_TRUE(ValidateFutureId("x").ok());
  EXPECT_TRUE(ValidateFutureId("not-a-uuid at all").ok());
}

}  // namespace
}  // namespace futured
