#include "server/engine/request_index.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/future/future.h"

namespace futured::server {
namespace {

// A stand-in for the future table: futures by ID, which a test can drop.
class FakeTable {
 public:
  std::shared_ptr<Future> Make() {
    absl::MutexLock lock(&mu_);
    auto future = std::make_shared<Future>(absl::StrCat("f", next_++), "echo",
                                           "thread", absl::Now());
    futures_[future->id()] = future;
    return future;
  }
  absl::StatusOr<std::shared_ptr<Future>> Find(absl::string_view id) {
    absl::MutexLock lock(&mu_);
    auto it = futures_.find(id);
    if (it == futures_.end()) return absl::NotFoundError("gone");
    return it->second;
  }
  void Drop(absl::string_view id) {
    absl::MutexLock lock(&mu_);
    futures_.erase(id);
  }

 private:
  absl::Mutex mu_;
  int next_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<std::string, std::shared_ptr<Future>> futures_
      ABSL_GUARDED_BY(mu_);
};

class RequestIndexTest : public ::testing::Test {
 protected:
  // StartOnce with the fake table; counts the futures it starts.
  absl::StatusOr<std::shared_ptr<Future>> Submit(const RequestKey& key,
                                                 uint64_t fingerprint = 1) {
    return index_.StartOnce(
        key, fingerprint,
        [this](absl::string_view id) { return table_.Find(id); },
        [this]() -> absl::StatusOr<std::shared_ptr<Future>> {
          ++started_;
          return table_.Make();
        });
  }

  FakeTable table_;
  RequestIndex index_;
  std::atomic<int> started_{0};
};

TEST_F(RequestIndexTest, ARetryGetsTheFirstFutureAndStartsNothing) {
  const RequestKey key{.principal = "", .request_id = "r1"};
  absl::StatusOr<std::shared_ptr<Future>> first = Submit(key);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::shared_ptr<Future>> retry = Submit(key);
  ASSERT_TRUE(retry.ok()) << retry.status();
  EXPECT_EQ(retry->get(), first->get());
  EXPECT_EQ(started_, 1);
  EXPECT_EQ(index_.size(), 1u);
}

TEST_F(RequestIndexTest, ADoneFutureIsStillAnswered) {
  const RequestKey key{.principal = "", .request_id = "r1"};
  absl::StatusOr<std::shared_ptr<Future>> first = Submit(key);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)->Cancel(absl::Now()) == CancelAction::kCancelledPending);
  absl::StatusOr<std::shared_ptr<Future>> retry = Submit(key);
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ((*retry)->id(), (*first)->id());
  EXPECT_TRUE((*retry)->done());
  EXPECT_EQ(started_, 1);
}

TEST_F(RequestIndexTest, PrincipalsAndRequestIdsAreSeparateKeys) {
  ASSERT_TRUE(Submit({.principal = "", .request_id = "r1"}).ok());
  ASSERT_TRUE(Submit({.principal = "alice", .request_id = "r1"}).ok());
  ASSERT_TRUE(Submit({.principal = "", .request_id = "r2"}).ok());
  // A key must not be confused with another whose parts concatenate alike.
  ASSERT_TRUE(Submit({.principal = "a", .request_id = "lice"}).ok());
  ASSERT_TRUE(Submit({.principal = "alic", .request_id = "e"}).ok());
  EXPECT_EQ(started_, 5);
  EXPECT_EQ(index_.size(), 5u);
}

TEST_F(RequestIndexTest, AnotherCallUnderTheSameIdIsAlreadyExists) {
  const RequestKey key{.principal = "", .request_id = "r1"};
  absl::StatusOr<std::shared_ptr<Future>> first = Submit(key, 1);
  ASSERT_TRUE(first.ok());
  absl::StatusOr<std::shared_ptr<Future>> other = Submit(key, 2);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(other.status().message().find((*first)->id()), std::string::npos)
      << other.status();
  EXPECT_NE(other.status().message().find("r1"), std::string::npos);
  EXPECT_EQ(started_, 1);
  // The first call's retry still works.
  absl::StatusOr<std::shared_ptr<Future>> retry = Submit(key, 1);
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->get(), first->get());
}

TEST_F(RequestIndexTest, ForgottenOrVanishedFuturesFreeTheirKey) {
  const RequestKey key{.principal = "", .request_id = "r1"};
  absl::StatusOr<std::shared_ptr<Future>> first = Submit(key);
  ASSERT_TRUE(first.ok());
  index_.Forget((*first)->id());
  EXPECT_EQ(index_.size(), 0u);
  index_.Forget((*first)->id());  // twice is harmless
  index_.Forget("never-indexed");

  // Released: a new future, and now a different call may use the ID too.
  absl::StatusOr<std::shared_ptr<Future>> second = Submit(key, 7);
  ASSERT_TRUE(second.ok());
  EXPECT_NE((*second)->id(), (*first)->id());

  // Gone from the table before Forget() ran: treated as absent.
  table_.Drop((*second)->id());
  absl::StatusOr<std::shared_ptr<Future>> third = Submit(key, 8);
  ASSERT_TRUE(third.ok());
  EXPECT_NE((*third)->id(), (*second)->id());
  EXPECT_EQ(started_, 3);
  EXPECT_EQ(index_.size(), 1u);
  index_.Forget((*second)->id());  // late, for a replaced entry: no effect
  EXPECT_EQ(index_.size(), 1u);
}

TEST_F(RequestIndexTest, AFailedStartRecordsNothing) {
  const RequestKey key{.principal = "", .request_id = "r1"};
  absl::StatusOr<std::shared_ptr<Future>> refused = index_.StartOnce(
      key, 1, [this](absl::string_view id) { return table_.Find(id); },
      []() -> absl::StatusOr<std::shared_ptr<Future>> {
        return absl::ResourceExhaustedError("queue full");
      });
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(index_.size(), 0u);
  ASSERT_TRUE(Submit(key).ok());
  EXPECT_EQ(started_, 1);
}

TEST_F(RequestIndexTest, RequestIdLengthIsBounded) {
  EXPECT_TRUE(RequestIndex::ValidateRequestId("").ok());
  EXPECT_TRUE(RequestIndex::ValidateRequestId(
                  std::string(RequestIndex::kMaxRequestIdSize, 'x'))
                  .ok());
  absl::Status too_long = RequestIndex::ValidateRequestId(
      std::string(RequestIndex::kMaxRequestIdSize + 1, 'x'));
  EXPECT_EQ(too_long.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(too_long.message().find("request_id"), std::string::npos);
}

TEST_F(RequestIndexTest, RacingIdenticalSubmitsStartExactlyOneFuture) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  for (int round = 0; round < kRounds; ++round) {
    const RequestKey key{.principal = "",
                         .request_id = absl::StrCat("race-", round)};
    const int started_before = started_;
    std::vector<std::string> ids(kThreads);
    absl::Barrier* barrier = new absl::Barrier(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        if (barrier->Block()) delete barrier;
        absl::StatusOr<std::shared_ptr<Future>> future = Submit(key);
        if (future.ok()) ids[t] = (*future)->id();
      });
    }
    for (std::thread& thread : threads) thread.join();
    ASSERT_EQ(started_ - started_before, 1) << "round " << round;
    for (const std::string& id : ids) {
      ASSERT_FALSE(id.empty());
      EXPECT_EQ(id, ids[0]) << "round " << round;
    }
  }
  EXPECT_EQ(index_.size(), static_cast<size_t>(kRounds));
}

}  // namespace
}  // namespace futured::server
