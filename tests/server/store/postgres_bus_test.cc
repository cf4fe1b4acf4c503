// PostgresBus against a real, throw-away PostgreSQL server, with the
// PostgresJournal whose commits it hears of.
#include "server/store/postgres_bus.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/postgres_connection.h"
#include "server/store/postgres_journal.h"
#include "server/store/postgres_rows.h"
#include "tests/poll_until.h"
#include "tests/server/store/journal_test_util.h"
#include "tests/support/postgres_test.h"

namespace futured::server {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

AcceptedCall Call(const std::string& id) {
  return AcceptedCall{.id = id,
                      .principal = "alice",
                      .request_id = "",
                      .function = "square",
                      .pool = "thread",
                      .args = "",
                      .submit_time = absl::FromUnixSeconds(1000)};
}

FutureEnding Ending(double value) {
  google::protobuf::Value v;
  v.set_number_value(value);
  return FutureEnding{.outcome = std::move(v),
                      .end_time = absl::FromUnixSeconds(1001)};
}

// What a bus's `ended` callback heard.
class EndsHeard {
 public:
  PostgresBus::Ended Callback() {
    return [this](const std::vector<std::string>& ids) {
      absl::MutexLock lock(&mu_);
      for (const std::string& id : ids) ids_.push_back(id);
      if (ids.empty()) ++polls_;
    };
  }
  // Waits (at most a minute) until `n` IDs were heard; those heard.
  std::vector<std::string> Await(size_t n) {
    absl::MutexLock lock(&mu_);
    wanted_ = n;
    mu_.AwaitWithTimeout(absl::Condition(this, &EndsHeard::Enough),
                         absl::Minutes(1));
    return ids_;
  }
  int polls() {
    absl::MutexLock lock(&mu_);
    return polls_;
  }

 private:
  bool Enough() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return ids_.size() >= wanted_;
  }

  absl::Mutex mu_;
  std::vector<std::string> ids_ ABSL_GUARDED_BY(mu_);
  size_t wanted_ ABSL_GUARDED_BY(mu_) = 0;
  int polls_ ABSL_GUARDED_BY(mu_) = 0;
};

// One server and database per test; node "a" journals.
class PostgresBusTest : public ::futured::testing::PostgresTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PostgresTest::SetUp());
    absl::StatusOr<std::unique_ptr<PostgresJournal>> journal =
        PostgresJournal::Open({.conninfo = conninfo_, .node = "a"});
    ASSERT_TRUE(journal.ok()) << journal.status();
    journal_ = *std::move(journal);
    ASSERT_TRUE(RecoverAll(*journal_).ok());
  }

  // Node `node`'s bus; with a poll of an hour, only notifications count.
  std::unique_ptr<PostgresBus> OpenBus(
      const std::string& node, absl::Duration poll = absl::Hours(1),
      absl::Duration request_timeout = absl::Seconds(30)) {
    absl::StatusOr<std::unique_ptr<PostgresBus>> bus =
        PostgresBus::Open({.conninfo = conninfo_,
                           .node = node,
                           .poll = poll,
                           .request_timeout = request_timeout});
    EXPECT_TRUE(bus.ok()) << bus.status();
    return bus.ok() ? *std::move(bus) : nullptr;
  }

  std::unique_ptr<PostgresJournal> journal_;
};

TEST_F(PostgresBusTest, EndsCommittedTogetherComeInOneNotification) {
  std::unique_ptr<PostgresBus> bus = OpenBus("b");
  ASSERT_NE(bus, nullptr);
  EndsHeard heard;
  bus->Start(heard.Callback(), nullptr);
  ASSERT_TRUE(
      Committed([&](Journal::Committed c) {
        journal_->Accept({Call("x"), Call("y"), Call("z")}, std::move(c));
      }).ok());
  // Queued back to back, the three ends are taken into one commit unless
  // the writer is between batches: at most two notifications.
  journal_->End("x", FutureState::kFinished, Ending(1), nullptr);
  journal_->End("y", FutureState::kFinished, Ending(2), nullptr);
  ASSERT_TRUE(Committed([&](Journal::Committed c) {
                journal_->End("z", FutureState::kFinished, Ending(3),
                              std::move(c));
              }).ok());
  EXPECT_THAT(heard.Await(3), UnorderedElementsAre("x", "y", "z"));
  EXPECT_LE(bus->ended_notifications(), 2);
  EXPECT_GE(bus->ended_notifications(), 1);
  // Started with its first turn's poll only: none since.
  EXPECT_EQ(heard.polls(), 1);
}

TEST(PostgresBusPayloadTest, EndsAreSplitToFitPostgresPayloadLimit) {
  EXPECT_THAT(PostgresBus::EndedPayloads({"a", "b"}), ElementsAre("a b"));
  EXPECT_THAT(PostgresBus::EndedPayloads({}), ::testing::IsEmpty());
  std::vector<std::string> many;
  for (int i = 0; i < 1000; ++i) many.push_back(absl::StrCat("id-", i));
  std::vector<std::string> back;
  for (const PgParam& payload : PostgresBus::EndedPayloads(many)) {
    ASSERT_TRUE(payload.has_value());
    EXPECT_LT(payload->size(), 8000u);
    for (absl::string_view id : absl::StrSplit(*payload, ' ')) {
      back.emplace_back(id);
    }
  }
  EXPECT_EQ(back, many);
}

TEST_F(PostgresBusTest, ALargeBatchOfEndsIsHeardWhole) {
  std::unique_ptr<PostgresBus> bus = OpenBus("b");
  ASSERT_NE(bus, nullptr);
  EndsHeard heard;
  bus->Start(heard.Callback(), nullptr);
  std::vector<AcceptedCall> calls;
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    ids.push_back(absl::StrCat("01a2529e-170b-76ec-b2d1-", 100000000000 + i));
    calls.push_back(Call(ids.back()));
  }
  ASSERT_TRUE(Committed([&](Journal::Committed c) {
                journal_->Accept(std::move(calls), std::move(c));
              }).ok());
  for (const std::string& id : ids) {
    journal_->End(id, FutureState::kFinished, Ending(1), nullptr);
  }
  EXPECT_THAT(heard.Await(ids.size()),
              ::testing::UnorderedElementsAreArray(ids));
}

TEST_F(PostgresBusTest, ReadFindsAnyNodesFuturesWithTheirNode) {
  ASSERT_TRUE(Committed([&](Journal::Committed c) {
                journal_->Accept({Call("x")}, std::move(c));
              }).ok());
  std::unique_ptr<PostgresBus> bus = OpenBus("b");
  ASSERT_NE(bus, nullptr);
  bus->Start([](const std::vector<std::string>&) {}, nullptr);
  absl::Notification read;
  absl::StatusOr<std::vector<PostgresBus::Located>> found;
  bus->Read({"x", "missing"},
            [&](absl::StatusOr<std::vector<PostgresBus::Located>> f) {
              found = std::move(f);
              read.Notify();
            });
  ASSERT_TRUE(read.WaitForNotificationWithTimeout(absl::Minutes(1)));
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].node, "a");
  EXPECT_EQ((*found)[0].future.call.principal, "alice");
  EXPECT_EQ((*found)[0].future.state, FutureState::kPending);
}

TEST_F(PostgresBusTest, TheOwnerServesARequestAndTheAnswerComesBack) {
  ASSERT_TRUE(Committed([&](Journal::Committed c) {
                journal_->Accept({Call("x")}, std::move(c));
              }).ok());
  std::unique_ptr<PostgresBus> owner = OpenBus("a");
  std::unique_ptr<PostgresBus> asker = OpenBus("b");
  ASSERT_NE(owner, nullptr);
  ASSERT_NE(asker, nullptr);
  std::vector<std::string> served;  // on the owner's thread, then read here
  owner->Start([](const std::vector<std::string>&) {},
               [&](const PostgresBus::Request& r) -> absl::StatusOr<int64_t> {
                 served.push_back(absl::StrCat(r.future_id, " ", r.principal,
                                               " ", static_cast<int>(r.kind)));
                 if (r.kind == PostgresBus::RequestKind::kRelease) {
                   return absl::FailedPreconditionError("not done");
                 }
                 return 1;
               });
  asker->Start([](const std::vector<std::string>&) {}, nullptr);
  auto send = [&](PostgresBus::RequestKind kind) {
    absl::Notification answered;
    absl::StatusOr<int64_t> answer;
    asker->Send("a", {.future_id = "x", .principal = "alice", .kind = kind},
                [&](absl::StatusOr<int64_t> a) {
                  answer = a;
                  answered.Notify();
                });
    EXPECT_TRUE(answered.WaitForNotificationWithTimeout(absl::Minutes(1)));
    return answer;
  };
  EXPECT_EQ(*send(PostgresBus::RequestKind::kCancelIfPending), 1);
  const absl::StatusOr<int64_t> refused =
      send(PostgresBus::RequestKind::kRelease);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(), "not done");
  owner->Close();
  EXPECT_THAT(served, ElementsAre("x alice 1", "x alice 2"));
}

TEST_F(PostgresBusTest, ARequestNobodyAnswersFailsUnavailable) {
  std::unique_ptr<PostgresBus> asker =
      OpenBus("b", absl::Milliseconds(50), absl::Milliseconds(200));
  ASSERT_NE(asker, nullptr);
  asker->Start([](const std::vector<std::string>&) {}, nullptr);
  absl::Notification answered;
  absl::StatusOr<int64_t> answer;
  asker->Send("ghost", {.future_id = "nowhere", .principal = "alice"},
              [&](absl::StatusOr<int64_t> a) {
                answer = a;
                answered.Notify();
              });
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Minutes(1)));
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
}

TEST_F(PostgresBusTest, CloseFailsWhatIsLeftUnavailable) {
  std::unique_ptr<PostgresBus> asker = OpenBus("b");
  ASSERT_NE(asker, nullptr);
  asker->Start([](const std::vector<std::string>&) {}, nullptr);
  absl::Notification answered;
  absl::StatusOr<int64_t> answer;
  asker->Send("ghost", {.future_id = "nowhere", .principal = "alice"},
              [&](absl::StatusOr<int64_t> a) {
                answer = a;
                answered.Notify();
              });
  asker->Close();
  ASSERT_TRUE(answered.HasBeenNotified());
  EXPECT_EQ(answer.status().code(), absl::StatusCode::kUnavailable);
  absl::StatusOr<std::vector<PostgresBus::Located>> found;
  asker->Read({"x"}, [&](absl::StatusOr<std::vector<PostgresBus::Located>> f) {
    found = std::move(f);
  });
  EXPECT_EQ(found.status().code(), absl::StatusCode::kUnavailable);
}

// Rows nobody will read go at a poll: a dead asker's (no live lease), and
// the bus's own answered rows that it no longer waits for (from before a
// restart). A live node's rows stay.
TEST_F(PostgresBusTest, APollDeletesTheRequestRowsNobodyWillRead) {
  absl::StatusOr<std::unique_ptr<PgConnection>> db =
      PgConnection::Connect(conninfo_, "", "test");
  ASSERT_TRUE(db.ok()) << db.status();
  // Node "a" (the fixture's journal) holds a live lease; "gone"'s lapsed
  // an hour ago.
  ASSERT_TRUE(
      (*db)
          ->RunScript("INSERT INTO futured_nodes VALUES ('gone', 1, "
                      "now() - interval '1 hour', now() - interval "
                      "'2 hours'); INSERT INTO futured_requests (future_id, "
                      "principal, kind, requester, answered) VALUES "
                      "('x', '', 1, 'gone', true), "
                      "('y', '', 1, 'gone', false), "
                      "('z', '', 1, 'a', true)")
          .ok());
  auto rows_of = [&](const std::string& requester) -> int64_t {
    absl::StatusOr<PgRows> rows = (*db)->Run(
        {"SELECT count(*) FROM futured_requests WHERE requester = $1",
         {requester}});
    return rows.ok() ? rows->Int(0, 0) : -1;
  };
  std::unique_ptr<PostgresBus> b =
      OpenBus("b", absl::Milliseconds(20), absl::Milliseconds(100));
  ASSERT_NE(b, nullptr);
  b->Start([](const std::vector<std::string>&) {}, nullptr);
  ASSERT_TRUE(
      ::futured::testing::PollUntil([&] { return rows_of("gone") == 0; }));
  EXPECT_EQ(rows_of("a"), 1);

  // "a" restarted: its answered row is from its earlier life.
  std::unique_ptr<PostgresBus> a =
      OpenBus("a", absl::Milliseconds(20), absl::Milliseconds(100));
  ASSERT_NE(a, nullptr);
  a->Start(
      [](const std::vector<std::string>&) {},
      [](const PostgresBus::Request&) -> absl::StatusOr<int64_t> { return 0; });
  EXPECT_TRUE(::futured::testing::PollUntil([&] { return rows_of("a") == 0; }));
}

}  // namespace
}  // namespace futured::server
