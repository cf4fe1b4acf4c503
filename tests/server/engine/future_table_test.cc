#include "server/engine/future_table.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace futured::server {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1000);
constexpr absl::string_view kOwner = "alice";

std::shared_ptr<Future> NewFuture(const std::string& id) {
  return std::make_shared<Future>(id, "echo", "thread", kT0);
}

google::protobuf::Value Number(double n) {
  google::protobuf::Value v;
  v.set_number_value(n);
  return v;
}

TEST(FutureTableTest, FindsWhatWasInserted) {
  FutureTable table(absl::Hours(1));
  auto future = NewFuture("a");
  table.Insert(future, kOwner);
  absl::StatusOr<std::shared_ptr<Future>> found = table.Find("a", kOwner);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->get(), future.get());
  EXPECT_EQ(table.size(), 1u);
}

TEST(FutureTableTest, UnknownIdIsNotFoundAndNamed) {
  FutureTable table(absl::Hours(1));
  absl::StatusOr<std::shared_ptr<Future>> found = table.Find("nope", kOwner);
  EXPECT_EQ(found.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(found.status().message().find("nope"), std::string::npos);
}

TEST(FutureTableTest, AnotherOwnersFutureIsNotFoundWithTheUnknownIdMessage) {
  FutureTable table(absl::Hours(1));
  auto a = NewFuture("a");
  table.Insert(a, "alice");
  table.Insert(NewFuture("b"), "bob");
  ASSERT_TRUE(a->Finish(Number(1), kT0));
  const absl::Status never_made = table.Find("x", "bob").status();
  const absl::Status alices = table.Find("a", "bob").status();
  EXPECT_EQ(alices.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(alices.message(), "future a not found");
  EXPECT_EQ(never_made.message(), "future x not found");
  EXPECT_EQ(table.Find("a", "").status().code(), absl::StatusCode::kNotFound);
  const std::vector<std::string> ids = {"a"};
  EXPECT_EQ(table.Release(ids, "bob").status(), alices);
  EXPECT_TRUE(table.Find("a", "alice").ok());  // still there for alice
  EXPECT_TRUE(table.Find("b", "bob").ok());
  EXPECT_EQ(table.size(), 2);
}

TEST(FutureTableTest, ReleaseForgetsDoneFutures) {
  FutureTable table(absl::Hours(1));
  auto a = NewFuture("a");
  auto b = NewFuture("b");
  table.Insert(a, kOwner);
  table.Insert(b, kOwner);
  ASSERT_TRUE(a->Finish(Number(1), kT0));
  ASSERT_TRUE(b->Start(kT0));
  ASSERT_TRUE(b->Finish(Number(2), kT0));
  const std::vector<std::string> ids = {"a", "b", "a"};
  absl::StatusOr<int64_t> released = table.Release(ids, kOwner);
  ASSERT_TRUE(released.ok()) << released.status();
  EXPECT_EQ(*released, 2);
  EXPECT_EQ(table.Find("a", kOwner).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(table.size(), 0u);
}

TEST(FutureTableTest, ReleaseIsAllOrNothing) {
  FutureTable table(absl::Hours(1));
  auto done = NewFuture("done");
  auto pending = NewFuture("pending");
  table.Insert(done, kOwner);
  table.Insert(pending, kOwner);
  ASSERT_TRUE(done->Finish(Number(1), kT0));

  const std::vector<std::string> with_pending = {"done", "pending"};
  EXPECT_EQ(table.Release(with_pending, kOwner).status().code(),
            absl::StatusCode::kFailedPrecondition);
  const std::vector<std::string> with_unknown = {"done", "unknown"};
  EXPECT_EQ(table.Release(with_unknown, kOwner).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(table.size(), 2);
  EXPECT_TRUE(table.Find("done", kOwner).ok());
}

TEST(FutureTableTest, ExpiresDoneFuturesAfterRetentionOnly) {
  FutureTable table(absl::Minutes(10));
  auto early = NewFuture("early");
  auto late = NewFuture("late");
  auto pending = NewFuture("pending");
  table.Insert(early, kOwner);
  table.Insert(late, kOwner);
  table.Insert(pending, kOwner);
  ASSERT_TRUE(early->Finish(Number(1), kT0));
  ASSERT_TRUE(late->Finish(Number(2), kT0 + absl::Minutes(5)));

  EXPECT_EQ(table.ExpireFinished(kT0 + absl::Minutes(9)).size(), 0u);
  EXPECT_EQ(table.ExpireFinished(kT0 + absl::Minutes(10)).size(), 1u);
  EXPECT_FALSE(table.Find("early", kOwner).ok());
  EXPECT_TRUE(table.Find("late", kOwner).ok());
  EXPECT_EQ(table.ExpireFinished(kT0 + absl::Hours(5)).size(), 1u);
  EXPECT_FALSE(table.Find("late", kOwner).ok());
  // A future that never finishes is never expired.
  EXPECT_TRUE(table.Find("pending", kOwner).ok());
  EXPECT_EQ(table.size(), 1u);
}

TEST(FutureTableTest, ExpiryAfterReleaseIsHarmless) {
  FutureTable table(absl::Minutes(1));
  auto a = NewFuture("a");
  table.Insert(a, kOwner);
  ASSERT_TRUE(a->Finish(Number(1), kT0));
  const std::vector<std::string> ids = {"a"};
  ASSERT_TRUE(table.Release(ids, kOwner).ok());
  EXPECT_EQ(table.ExpireFinished(kT0 + absl::Hours(1)).size(), 0u);
}

TEST(FutureTableTest, KeepsIdsOfEveryLengthUpToTheLimit) {
  FutureTable table(absl::Minutes(1));
  std::vector<std::shared_ptr<Future>> futures;
  for (size_t size = 1; size <= FutureTable::kMaxIdSize; ++size) {
    futures.push_back(NewFuture(std::string(size, 'x')));
    table.Insert(futures.back(), kOwner);
    ASSERT_TRUE(futures.back()->Finish(Number(1), kT0));
  }
  for (const auto& future : futures) {
    EXPECT_TRUE(table.Find(future->id(), kOwner).ok()) << future->id();
  }
  // Expiry finds each by the ID it kept inline.
  EXPECT_EQ(table.ExpireFinished(kT0 + absl::Hours(1)).size(),
            FutureTable::kMaxIdSize);
  EXPECT_EQ(table.size(), 0u);
}

TEST(FutureTableDeathTest, AnIdLongerThanTheLimitIsAProgrammingError) {
  FutureTable table(absl::Minutes(1));
  EXPECT_DEATH(
      table.Insert(NewFuture(std::string(FutureTable::kMaxIdSize + 1, 'x')),
                   kOwner),
      "longer than");
}

TEST(FutureTableTest, RecentListsTheOwnersFuturesNewestFirst) {
  FutureTable table(absl::Hours(1));
  auto a = NewFuture("a");
  auto b = NewFuture("b");
  auto c = NewFuture("c");
  table.Insert(a, kOwner);
  table.Insert(b, "bob");
  table.Insert(c, kOwner);
  EXPECT_EQ(table.Recent(kOwner), (std::vector<std::shared_ptr<Future>>{c, a}));
  EXPECT_EQ(table.Recent("bob"), (std::vector<std::shared_ptr<Future>>{b}));
  EXPECT_EQ(table.Recent(std::nullopt),
            (std::vector<std::shared_ptr<Future>>{c, b, a}));
  EXPECT_TRUE(table.Recent("nobody").empty());
}

TEST(FutureTableTest, RecentLeavesOutReleasedFuturesAndKeepsTheLastOnes) {
  FutureTable table(absl::Hours(1));
  auto released = NewFuture("released");
  table.Insert(released, kOwner);
  ASSERT_TRUE(released->Finish(Number(1), kT0));
  ASSERT_TRUE(table.Release({"released"}, kOwner).ok());
  EXPECT_TRUE(table.Recent(kOwner).empty());
  for (size_t i = 0; i < FutureTable::kRecentCapacity + 5; ++i) {
    table.Insert(NewFuture(absl::StrCat("f", i)), kOwner);
  }
  const std::vector<std::shared_ptr<Future>> recent = table.Recent(kOwner);
  ASSERT_EQ(recent.size(), FutureTable::kRecentCapacity);
  EXPECT_EQ(recent.front()->id(),
            absl::StrCat("f", FutureTable::kRecentCapacity + 4));
  EXPECT_EQ(recent.back()->id(), "f5");
}

TEST(FutureTableTest, FindForViewerSeesEveryOwnerOnlyWithoutOne) {
  FutureTable table(absl::Hours(1));
  auto future = NewFuture("a");
  table.Insert(future, "bob");
  EXPECT_EQ(table.FindForViewer("a", kOwner).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(table.FindForViewer("a", "bob").ok());
  absl::StatusOr<std::shared_ptr<Future>> any =
      table.FindForViewer("a", std::nullopt);
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(*any, future);
  EXPECT_EQ(table.FindForViewer("nope", std::nullopt).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace futured::server
