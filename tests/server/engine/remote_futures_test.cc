// RemoteFutures against a real, throw-away PostgreSQL server: node "a"
// journals futures, node "b" mirrors them through its bus.
#include "server/engine/remote_futures.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/store/postgres_journal.h"
#include "tests/server/store/journal_test_util.h"
#include "tests/support/postgres_test.h"

namespace futured::server {
namespace {

AcceptedCall Call(const std::string& id, const std::string& principal) {
  return AcceptedCall{.id = id,
                      .principal = principal,
                      .request_id = "",
                      .function = "square",
                      .pool = "thread",
                      .args = "",
                      .submit_time = absl::FromUnixSeconds(1000)};
}

// Calls a RemoteFutures method with a callback and waits for its answer.
template <typename T>
T Await(const std::function<void(absl::AnyInvocable<void(T) &&>)>& call) {
  absl::Notification done;
  std::optional<T> answer;
  call([&](T a) {
    answer.emplace(std::move(a));
    done.Notify();
  });
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Minutes(1)));
  return *std::move(answer);
}

using Mirrors = absl::StatusOr<std::vector<std::shared_ptr<Future>>>;

class RemoteFuturesTest : public ::futured::testing::PostgresTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PostgresTest::SetUp());
    absl::StatusOr<std::unique_ptr<PostgresJournal>> journal =
        PostgresJournal::Open({.conninfo = conninfo_, .node = "a"});
    ASSERT_TRUE(journal.ok()) << journal.status();
    journal_ = *std::move(journal);
    ASSERT_TRUE(RecoverAll(*journal_).ok());
    ASSERT_TRUE(Committed([&](Journal::Committed c) {
                  journal_->Accept({Call("x", "alice"), Call("y", "alice"),
                                    Call("bobs", "bob")},
                                   std::move(c));
                }).ok());
    // An hour's poll: only notifications wake the mirrors.
    for (const char* node : {"a", "b"}) {
      absl::StatusOr<std::unique_ptr<PostgresBus>> bus = PostgresBus::Open(
          {.conninfo = conninfo_, .node = node, .poll = absl::Hours(1)});
      ASSERT_TRUE(bus.ok()) << bus.status();
      (node == std::string("a") ? owner_bus_ : bus_) = *std::move(bus);
    }
    remote_ = std::make_unique<RemoteFutures>(bus_.get());
    bus_->Start(
        [this](const std::vector<std::string>& ids) { remote_->OnEnded(ids); },
        nullptr);
  }

  void TearDown() override {
    if (bus_ != nullptr) bus_->Close();
    if (owner_bus_ != nullptr) owner_bus_->Close();
  }

  Mirrors Find(std::vector<std::string> ids, const std::string& principal) {
    return Await<Mirrors>([&](RemoteFutures::Found found) {
      remote_->Find(ids, principal, std::move(found));
    });
  }

  std::unique_ptr<PostgresJournal> journal_;
  std::unique_ptr<PostgresBus> owner_bus_;
  std::unique_ptr<PostgresBus> bus_;
  std::unique_ptr<RemoteFutures> remote_;
};

TEST_F(RemoteFuturesTest, AMirrorEndsWhenItsOwnerCommitsTheEnd) {
  Mirrors mirrors = Find({"y", "x"}, "alice");
  ASSERT_TRUE(mirrors.ok()) << mirrors.status();
  ASSERT_EQ(mirrors->size(), 2u);
  EXPECT_EQ((*mirrors)[0]->id(), "y");
  EXPECT_EQ((*mirrors)[1]->id(), "x");
  EXPECT_EQ((*mirrors)[1]->state(), FutureState::kPending);
  absl::Notification ended;
  (*mirrors)[1]->AddDoneCallback([&] { ended.Notify(); });
  ASSERT_TRUE(Committed([&](Journal::Committed c) {
                journal_->Start({"x"}, absl::FromUnixSeconds(1001), 0,
                                AsStarted(std::move(c)));
              }).ok());
  google::protobuf::Value value;
  value.set_number_value(49);
  journal_->End("x", FutureState::kFinished,
                FutureEnding{.outcome = value,
                             .start_time = absl::FromUnixSeconds(1001),
                             .end_time = absl::FromUnixSeconds(1002)},
                nullptr);
  ASSERT_TRUE(ended.WaitForNotificationWithTimeout(absl::Minutes(1)));
  const FutureSnapshot snapshot = (*mirrors)[1]->Snapshot();
  EXPECT_EQ(snapshot.state, FutureState::kFinished);
  EXPECT_EQ(std::get<google::protobuf::Value>(*snapshot.outcome).number_value(),
            49);
  EXPECT_EQ(snapshot.start_time, absl::FromUnixSeconds(1001));
  // The same mirror while one is held.
  Mirrors again = Find({"y"}, "alice");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->front(), (*mirrors)[0]);
}

TEST_F(RemoteFuturesTest, AnotherPrincipalsOrAnUnknownFutureIsNotFound) {
  Mirrors mirrors = Find({"x", "bobs"}, "alice");
  EXPECT_EQ(mirrors.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(mirrors.status().message(), "future bobs not found");
  EXPECT_EQ(Find({"nowhere"}, "alice").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(Find({"bobs"}, "bob").ok());
}

TEST_F(RemoteFuturesTest, CancelAndReleaseAreAskedOfTheOwner) {
  std::vector<std::string> asked;  // on a's bus thread; read after Close()
  owner_bus_->Start(
      [](const std::vector<std::string>&) {},
      [&](const PostgresBus::Request& r) -> absl::StatusOr<int64_t> {
        asked.push_back(r.future_id);
        return static_cast<int64_t>(CancelAction::kCancelledPending);
      });
  using Cancelled =
      absl::StatusOr<std::pair<CancelAction, std::shared_ptr<Future>>>;
  Cancelled cancelled = Await<Cancelled>([&](RemoteFutures::Cancelled c) {
    remote_->Cancel("x", "alice", false, std::move(c));
  });
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->first, CancelAction::kCancelledPending);
  EXPECT_EQ(cancelled->second->id(), "x");
  // Not done (as the journal says): nothing is released, nothing asked.
  absl::StatusOr<int64_t> released =
      Await<absl::StatusOr<int64_t>>([&](RemoteFutures::Released r) {
        remote_->Release({"y"}, "alice", std::move(r));
      });
  EXPECT_EQ(released.status().code(), absl::StatusCode::kFailedPrecondition);
  owner_bus_->Close();
  EXPECT_EQ(asked, std::vector<std::string>{"x"});
}

}  // namespace
}  // namespace futured::server
