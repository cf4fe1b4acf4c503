#include "server/engine/future_table.h"

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
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

// A loader for futures on disk: makes each FINISHED with 1 at kT0 and
// counts the loads.
struct CountingLoader {
  int loads = 0;
  FutureTable::Loader loader() {
    return
        [this](
            absl::string_view id) -> absl::StatusOr<std::shared_ptr<Future>> {
          ++loads;
          auto future = NewFuture(std::string(id));
          future->Finish(Number(1), kT0);
          return future;
        };
  }
};

TEST(FutureTableTest, AFutureOnDiskIsLoadedOnceWhenFirstLookedUp) {
  CountingLoader disk;
  FutureTable table(absl::Hours(1), disk.loader());
  ASSERT_TRUE(table.InsertOnDisk("d", kOwner, kT0));
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(disk.loads, 0);
  absl::StatusOr<std::shared_ptr<Future>> found = table.Find("d", kOwner);
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ((*found)->id(), "d");
  EXPECT_EQ((*found)->state(), FutureState::kFinished);
  absl::StatusOr<std::shared_ptr<Future>> again =
      table.FindForViewer("d", std::nullopt);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *found);
  EXPECT_EQ(disk.loads, 1);
  EXPECT_EQ(table.size(), 1u);
}

TEST(FutureTableTest, FuturesOnDiskAreFoundWhateverTheOrderOfTheirIds) {
  CountingLoader disk;
  FutureTable table(absl::Hours(1), disk.loader());
  const std::vector<std::string> ids = {"m", "c", "x", "a", "q"};
  for (const std::string& id : ids) {
    ASSERT_TRUE(table.InsertOnDisk(id, kOwner, kT0));
  }
  for (const std::string& id : ids) {
    absl::StatusOr<std::shared_ptr<Future>> found = table.Find(id, kOwner);
    ASSERT_TRUE(found.ok()) << id << ": " << found.status();
    EXPECT_EQ((*found)->id(), id);
  }
  EXPECT_EQ(table.Find("b", kOwner).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(disk.loads, 5);
  EXPECT_EQ(table.size(), 5u);
}

TEST(FutureTableTest, AnotherOwnersFutureOnDiskIsNotFoundAndNotLoaded) {
  CountingLoader disk;
  FutureTable table(absl::Hours(1), disk.loader());
  ASSERT_TRUE(table.InsertOnDisk("d", "bob", kT0));
  EXPECT_EQ(table.Find("d", kOwner).status().message(), "future d not found");
  EXPECT_EQ(table.FindForViewer("d", kOwner).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(disk.loads, 0);
  EXPECT_TRUE(table.Find("d", "bob").ok());
}

TEST(FutureTableTest, FuturesOnDiskExpireAfterRetentionLoadedOrNot) {
  CountingLoader disk;
  FutureTable table(absl::Minutes(10), disk.loader());
  ASSERT_TRUE(table.InsertOnDisk("loaded", kOwner, kT0));
  ASSERT_TRUE(table.InsertOnDisk("left", kOwner, kT0 + absl::Minutes(1)));
  ASSERT_TRUE(table.Find("loaded", kOwner).ok());
  EXPECT_TRUE(table.ExpireFinished(kT0 + absl::Minutes(9)).empty());
  EXPECT_EQ(table.ExpireFinished(kT0 + absl::Minutes(10)),
            std::vector<std::string>{"loaded"});
  EXPECT_EQ(table.ExpireFinished(kT0 + absl::Minutes(11)),
            std::vector<std::string>{"left"});
  EXPECT_EQ(table.Find("left", kOwner).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(disk.loads, 1);
}

TEST(FutureTableTest, AFutureOnDiskIsReleasedWithoutBeingLoaded) {
  CountingLoader disk;
  FutureTable table(absl::Minutes(10), disk.loader());
  ASSERT_TRUE(table.InsertOnDisk("d", kOwner, kT0));
  EXPECT_EQ(table.Release({"d"}, "bob").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(*table.Release({"d"}, kOwner), 1);
  EXPECT_EQ(table.Find("d", kOwner).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(table.ExpireFinished(kT0 + absl::Hours(1)).empty());
  EXPECT_EQ(disk.loads, 0);
}

TEST(FutureTableTest, RecentLoadsFuturesOnDiskInTheirPlace) {
  CountingLoader disk;
  FutureTable table(absl::Hours(1), disk.loader());
  auto a = NewFuture("a");
  auto c = NewFuture("c");
  table.Insert(a, kOwner);
  ASSERT_TRUE(table.InsertOnDisk("d", kOwner, kT0));
  ASSERT_TRUE(table.InsertOnDisk("bobs", "bob", kT0));
  table.Insert(c, kOwner);
  const std::vector<std::shared_ptr<Future>> recent = table.Recent(kOwner);
  ASSERT_EQ(recent.size(), 3u);
  EXPECT_EQ(recent[0], c);
  EXPECT_EQ(recent[1]->id(), "d");
  EXPECT_EQ(recent[2], a);
  EXPECT_EQ(disk.loads, 1);  // not bob's
  EXPECT_EQ(table.Recent(kOwner)[1], recent[1]);
  EXPECT_EQ(disk.loads, 1);
}

TEST(FutureTableTest, AFailedLoadLeavesTheFutureOnDiskForTheNextLookup) {
  bool fail = true;
  FutureTable table(
      absl::Hours(1),
      [&](absl::string_view id) -> absl::StatusOr<std::shared_ptr<Future>> {
        if (fail) return absl::UnavailableError("disk unreadable");
        auto future = NewFuture(std::string(id));
        future->Finish(Number(1), kT0);
        return future;
      });
  ASSERT_TRUE(table.InsertOnDisk("d", kOwner, kT0));
  EXPECT_EQ(table.Find("d", kOwner).status().code(),
            absl::StatusCode::kUnavailable);
  fail = false;
  EXPECT_TRUE(table.Find("d", kOwner).ok());
}

TEST(FutureTableTest, AFutureReleasedWhileItLoadsIsNotFound) {
  FutureTable* table_ptr = nullptr;
  FutureTable table(
      absl::Hours(1),
      [&](absl::string_view id) -> absl::StatusOr<std::shared_ptr<Future>> {
        EXPECT_EQ(*table_ptr->Release({std::string(id)}, kOwner), 1);
        auto future = NewFuture(std::string(id));
        future->Finish(Number(1), kT0);
        return future;
      });
  table_ptr = &table;
  ASSERT_TRUE(table.InsertOnDisk("d", kOwner, kT0));
  EXPECT_EQ(table.Find("d", kOwner).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(table.size(), 0u);
}

// Lookups of futures on disk from many threads, while another releases
// some: each ID found gives one future to every thread (a load that loses
// the race is dropped), and a released one is never found again.
TEST(FutureTableTest, ConcurrentLookupsOfFuturesOnDiskAgreeOnOneFuture) {
  constexpr int kFutures = 200;
  constexpr int kThreads = 4;
  std::atomic<int> loads{0};
  FutureTable table(
      absl::Hours(1),
      [&](absl::string_view id) -> absl::StatusOr<std::shared_ptr<Future>> {
        loads.fetch_add(1);
        auto future = NewFuture(std::string(id));
        future->Finish(Number(1), kT0);
        return future;
      });
  for (int i = 0; i < kFutures; ++i) {
    ASSERT_TRUE(table.InsertOnDisk(absl::StrCat("d", 1000 + i), kOwner, kT0));
  }
  std::vector<std::vector<std::shared_ptr<Future>>> found(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kFutures; ++i) {
        absl::StatusOr<std::shared_ptr<Future>> future =
            table.Find(absl::StrCat("d", 1000 + i), kOwner);
        found[t].push_back(future.ok() ? *future : nullptr);
      }
    });
  }
  std::thread releaser([&] {
    for (int i = 0; i < kFutures; i += 10) {
      EXPECT_TRUE(table.Release({absl::StrCat("d", 1000 + i)}, kOwner).ok());
    }
  });
  for (std::thread& thread : threads) thread.join();
  releaser.join();
  for (int i = 0; i < kFutures; ++i) {
    std::shared_ptr<Future> first;
    for (int t = 0; t < kThreads; ++t) {
      const std::shared_ptr<Future>& future = found[t][i];
      if (future == nullptr) {
        EXPECT_EQ(i % 10, 0) << "only released ones are missing";
        continue;
      }
      EXPECT_EQ(future->id(), absl::StrCat("d", 1000 + i));
      if (first == nullptr) first = future;
      EXPECT_EQ(future, first) << future->id();
    }
    if (i % 10 == 0) {
      EXPECT_EQ(table.Find(absl::StrCat("d", 1000 + i), kOwner).status().code(),
                absl::StatusCode::kNotFound);
    }
  }
  EXPECT_EQ(table.size(), kFutures - kFutures / 10);
  EXPECT_GE(loads.load(), kFutures - kFutures / 10);
}

TEST(FutureTableTest, AnIdOnDiskLongerThanTheLimitIsRefused) {
  FutureTable table(absl::Hours(1));
  EXPECT_FALSE(table.InsertOnDisk(std::string(FutureTable::kMaxIdSize + 1, 'x'),
                                  kOwner, kT0));
  EXPECT_EQ(table.size(), 0u);
}

}  // namespace
}  // namespace futured::server
