// PostgresJournal against a real, throw-away PostgreSQL server.
#include "server/store/postgres_journal.h"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/postgres_connection.h"
#include "tests/poll_until.h"
#include "tests/server/store/journal_test_util.h"
#include "tests/support/postgres_server.h"
#include "tests/support/postgres_test.h"

namespace futured::server {
namespace {

using ::futured::testing::PollUntil;
using ::futured::testing::PostgresServer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

google::protobuf::Value Number(double n) {
  google::protobuf::Value v;
  v.set_number_value(n);
  return v;
}

AcceptedCall Call(const std::string& id) {
  google::protobuf::ListValue args;
  *args.add_values() = Number(1.5);
  args.add_values()->set_string_value("quote \" and \\ and {braces}, commas");
  return AcceptedCall{.id = id,
                      .principal = "alice",
                      .request_id = "",
                      .function = "sleep",
                      .pool = "thread",
                      .args = args.SerializeAsString(),
                      .submit_time = absl::FromUnixSeconds(1000)};
}

absl::Status AcceptOne(Journal& journal, const std::string& id) {
  return Committed(
      [&](Journal::Committed c) { journal.Accept({Call(id)}, std::move(c)); });
}

std::vector<std::string> Ids(const std::vector<JournaledFuture>& futures) {
  std::vector<std::string> ids;
  for (const JournaledFuture& f : futures) ids.push_back(f.call.id);
  return ids;
}

// One server and one fresh database per test.
class PostgresJournalTest : public ::futured::testing::PostgresTest {
 protected:
  PostgresJournal::Options NodeOptions(const std::string& node) {
    return {.conninfo = conninfo_,
            .node = node,
            .lease = absl::Seconds(10),
            .join_wait = absl::Seconds(1)};
  }

  std::unique_ptr<PostgresJournal> OpenOrDie(PostgresJournal::Options options) {
    absl::StatusOr<std::unique_ptr<PostgresJournal>> journal =
        PostgresJournal::Open(std::move(options));
    EXPECT_TRUE(journal.ok()) << journal.status();
    return journal.ok() ? *std::move(journal) : nullptr;
  }

  // The first column of the first row of `sql`, as text.
  std::string Query(const std::string& sql) {
    absl::StatusOr<std::unique_ptr<PgConnection>> db =
        PgConnection::Connect(conninfo_, "", "test");
    if (!db.ok()) return db.status().ToString();
    absl::StatusOr<PgRows> rows = (*db)->Run({sql});
    if (!rows.ok()) return rows.status().ToString();
    return rows->size() == 0 ? "" : rows->Text(0, 0);
  }
};

// CI installs PostgreSQL: where it is missing, a test needing it fails
// and says what to install, rather than being skipped.
TEST(PostgresServerTest, MissingBinariesFailAndSayWhatToInstall) {
  setenv("FUTURED_POSTGRES_BINDIR", "/nonexistent/bin", 1);
  absl::StatusOr<std::unique_ptr<PostgresServer>> server =
      PostgresServer::Start();
  unsetenv("FUTURED_POSTGRES_BINDIR");
  EXPECT_EQ(server.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(server.status().message(),
              HasSubstr("apt-get install postgresql"));
}

TEST_F(PostgresJournalTest, EveryRecordKindSurvivesReopening) {
  std::unique_ptr<PostgresJournal> journal = OpenOrDie(NodeOptions("a"));
  ASSERT_NE(journal, nullptr);
  ASSERT_TRUE(RecoverAll(*journal).ok());
  AcceptedCall timed = Call("timed");
  timed.request_id = "order-7";
  timed.deadline = absl::FromUnixSeconds(2000);
  timed.timeout = absl::Seconds(1000);
  ASSERT_TRUE(Committed([&](Journal::Committed c) {
                journal->Accept({Call("value"), Call("error"), Call("gone"),
                                 Call("cancelled"), Call("running"), timed},
                                std::move(c));
              }).ok());
  ASSERT_TRUE(Committed([&](Journal::Committed c) {
                journal->Start({"value", "error", "running"},
                               absl::FromUnixSeconds(1001), 4242,
                               AsStarted(std::move(c)));
              }).ok());
  FutureEnding value_end{.outcome = Number(49),
                         .start_time = absl::FromUnixSeconds(1001),
                         .end_time = absl::FromUnixSeconds(1002)};
  TaskError error{.type = "ValueError", .message = "bad \"input\"\n"};
  error.details.set_string_value("trace");
  FutureEnding error_end{.outcome = error,
                         .start_time = absl::FromUnixSeconds(1001),
                         .end_time = absl::FromUnixSeconds(1003)};
  FutureEnding cancelled_end{.outcome = Cancelled{},
                             .end_time = absl::FromUnixSeconds(1004)};
  ASSERT_TRUE(Committed([&](Journal::Committed c) {
                journal->End("value", FutureState::kFinished, value_end,
                             std::move(c));
              }).ok());
  ASSERT_TRUE(Committed([&](Journal::Committed c) {
                journal->End("error", FutureState::kFinished, error_end,
                             std::move(c));
              }).ok());
  ASSERT_TRUE(Committed([&](Journal::Committed c) {
                journal->End("cancelled", FutureState::kCancelled,
                             cancelled_end, std::move(c));
              }).ok());
  journal->Forget({"gone"});
  journal->Close();
  journal.reset();

  journal = OpenOrDie(NodeOptions("a"));
  ASSERT_NE(journal, nullptr);
  absl::StatusOr<std::vector<JournaledFuture>> recovered = RecoverAll(*journal);
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  ASSERT_THAT(Ids(*recovered),
              ElementsAre("value", "error", "cancelled", "running", "timed"));
  const JournaledFuture& value = (*recovered)[0];
  EXPECT_EQ(value.call.principal, "alice");
  EXPECT_EQ(value.call.function, "sleep");
  EXPECT_EQ(value.call.pool, "thread");
  EXPECT_EQ(value.call.args, Call("x").args);
  EXPECT_EQ(value.call.submit_time, absl::FromUnixSeconds(1000));
  EXPECT_EQ(value.call.deadline, absl::InfiniteFuture());
  EXPECT_FALSE(value.call.timeout.has_value());
  EXPECT_EQ(value.state, FutureState::kFinished);
  EXPECT_EQ(value.worker_pid, 4242);
  ASSERT_TRUE(value.ending.has_value());
  EXPECT_EQ(value.ending->start_time, absl::FromUnixSeconds(1001));
  EXPECT_EQ(value.ending->end_time, absl::FromUnixSeconds(1002));
  EXPECT_EQ(
      std::get<google::protobuf::Value>(value.ending->outcome).number_value(),
      49);
  const TaskError& recovered_error =
      std::get<TaskError>((*recovered)[1].ending->outcome);
  EXPECT_EQ(recovered_error.type, "ValueError");
  EXPECT_EQ(recovered_error.message, "bad \"input\"\n");
  EXPECT_EQ(recovered_error.details.string_value(), "trace");
  EXPECT_EQ((*recovered)[2].state, FutureState::kCancelled);
  EXPECT_TRUE(IsCancelled((*recovered)[2].ending->outcome));
  EXPECT_FALSE((*recovered)[2].ending->start_time.has_value());
  const JournaledFuture& running = (*recovered)[3];
  EXPECT_EQ(running.state, FutureState::kRunning);
  EXPECT_EQ(running.start_time, absl::FromUnixSeconds(1001));
  EXPECT_FALSE(running.ending.has_value());
  const JournaledFuture& pending = (*recovered)[4];
  EXPECT_EQ(pending.state, FutureState::kPending);
  EXPECT_EQ(pending.call.request_id, "order-7");
  EXPECT_EQ(pending.call.deadline, absl::FromUnixSeconds(2000));
  EXPECT_EQ(pending.call.timeout, absl::Seconds(1000));
}

TEST_F(PostgresJournalTest, EachNodeRecoversOnlyItsOwnFutures) {
  std::unique_ptr<PostgresJournal> a = OpenOrDie(NodeOptions("a"));
  std::unique_ptr<PostgresJournal> b = OpenOrDie(NodeOptions("b"));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(AcceptOne(*a, "of-a").ok());
  ASSERT_TRUE(AcceptOne(*b, "of-b").ok());
  // b may not touch a's future.
  ASSERT_TRUE(Committed([&](Journal::Committed c) {
                b->Start({"of-a"}, absl::Now(), 0, AsStarted(std::move(c)));
              }).ok());
  absl::StatusOr<std::vector<JournaledFuture>> of_b = RecoverAll(*b);
  ASSERT_TRUE(of_b.ok()) << of_b.status();
  EXPECT_THAT(Ids(*of_b), ElementsAre("of-b"));
  absl::StatusOr<std::vector<JournaledFuture>> of_a = RecoverAll(*a);
  ASSERT_TRUE(of_a.ok()) << of_a.status();
  ASSERT_THAT(Ids(*of_a), ElementsAre("of-a"));
  EXPECT_EQ((*of_a)[0].state, FutureState::kPending);
}

// Waits for journal.LookUp(id).
absl::StatusOr<std::optional<JournaledFuture>> LookedUp(Journal& journal,
                                                        const std::string& id) {
  absl::Notification done;
  absl::StatusOr<std::optional<JournaledFuture>> result;
  journal.LookUp(id, [&](absl::StatusOr<std::optional<JournaledFuture>> r) {
    result = std::move(r);
    done.Notify();
  });
  done.WaitForNotification();
  return result;
}

TEST_F(PostgresJournalTest, ANodeLooksUpAnotherNodesFuture) {
  std::unique_ptr<PostgresJournal> a = OpenOrDie(NodeOptions("a"));
  std::unique_ptr<PostgresJournal> b = OpenOrDie(NodeOptions("b"));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(AcceptOne(*a, "of-a").ok());
  ASSERT_TRUE(Committed([&](Journal::Committed c) {
                a->End("of-a", FutureState::kFinished,
                       {.outcome = Number(36), .end_time = absl::Now()},
                       std::move(c));
              }).ok());
  absl::StatusOr<std::optional<JournaledFuture>> found = LookedUp(*b, "of-a");
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->call.principal, "alice");
  EXPECT_EQ((*found)->state, FutureState::kFinished);
  EXPECT_EQ(std::get<google::protobuf::Value>((*found)->ending->outcome)
                .number_value(),
            36);
  found = LookedUp(*b, "nowhere");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_FALSE(found->has_value());
  EXPECT_EQ(b->Stats().commits, 0) << "a look-up is no commit";
}

TEST_F(PostgresJournalTest, ManyRecordsShareACommit) {
  std::unique_ptr<PostgresJournal> journal = OpenOrDie(NodeOptions("a"));
  ASSERT_NE(journal, nullptr);
  constexpr int kFutures = 2000;
  std::atomic<int> done{0};
  std::atomic<int> failed{0};
  for (int i = 0; i < kFutures; ++i) {
    journal->Accept({Call(absl::StrCat("f", i))}, [&](absl::Status s) {
      if (!s.ok()) failed.fetch_add(1);
      done.fetch_add(1);
    });
  }
  ASSERT_TRUE(PollUntil([&] { return done.load() == kFutures; }));
  EXPECT_EQ(failed.load(), 0);
  const JournalStats stats = journal->Stats();
  EXPECT_EQ(stats.records, kFutures);
  EXPECT_LT(stats.commits, kFutures / 4) << "grouped, not one per future";
  EXPECT_THAT(stats.path, HasSubstr("node a"));
  EXPECT_EQ(Query("SELECT count(*) FROM futured_futures"), "2000");
}

TEST_F(PostgresJournalTest, TheSchemaIsCreatedOnceAndVersioned) {
  std::unique_ptr<PostgresJournal> a = OpenOrDie(NodeOptions("a"));
  std::unique_ptr<PostgresJournal> b = OpenOrDie(NodeOptions("b"));
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(Query("SELECT string_agg(version::text, ',') FROM futured_schema"),
            absl::StrCat(PostgresJournal::kSchemaVersion));
  EXPECT_EQ(Query("SELECT count(*) FROM futured_nodes"), "2");
}

TEST_F(PostgresJournalTest, ANewerSchemaIsRefused) {
  ASSERT_NE(OpenOrDie(NodeOptions("a")), nullptr);
  ASSERT_TRUE(PostgresServer::Execute(conninfo_,
                                      "UPDATE futured_schema SET version = 99")
                  .ok());
  absl::StatusOr<std::unique_ptr<PostgresJournal>> journal =
      PostgresJournal::Open(NodeOptions("a"));
  ASSERT_EQ(journal.status().code(), absl::StatusCode::kFailedPrecondition)
      << journal.status();
  EXPECT_THAT(journal.status().message(),
              HasSubstr(absl::StrCat(
                  "has futured schema version 99, newer than this futured's ",
                  PostgresJournal::kSchemaVersion)));
  EXPECT_EQ(Query("SELECT version FROM futured_schema"), "99") << "untouched";
}

TEST_F(PostgresJournalTest, AConnectionStringWithAPasswordIsRefused) {
  for (const std::string conninfo :
       {"postgresql://futured:secret@db.example/futured",
        "host=db.example password=secret dbname=futured"}) {
    const absl::Status status = PostgresJournal::CheckConnInfo(conninfo);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << conninfo;
    EXPECT_THAT(status.message(), HasSubstr("--cluster_password_file"));
    EXPECT_THAT(status.message(), HasSubstr("PGPASSWORD"));
    EXPECT_THAT(status.message(), ::testing::Not(HasSubstr("secret")));
  }
  EXPECT_TRUE(PostgresJournal::CheckConnInfo(
                  "postgresql://futured@db.example:5432/futured")
                  .ok());
  EXPECT_EQ(PostgresJournal::CheckConnInfo("host=").code(),
            absl::StatusCode::kOk);
  EXPECT_EQ(PostgresJournal::CheckConnInfo("postgresql://[::1").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(PostgresJournalTest, AnUnreachableDatabaseIsUnavailable) {
  absl::StatusOr<std::unique_ptr<PostgresJournal>> journal =
      PostgresJournal::Open(
          {.conninfo = "host=/nonexistent dbname=futured", .node = "a"});
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kUnavailable)
      << journal.status();
}

TEST_F(PostgresJournalTest, TheServerGoingAwayIsUnavailableAndLosesNothing) {
  std::unique_ptr<PostgresJournal> journal = OpenOrDie(NodeOptions("a"));
  ASSERT_NE(journal, nullptr);
  ASSERT_TRUE(AcceptOne(*journal, "before").ok());
  ASSERT_TRUE(server_->Stop(/*immediate=*/true).ok());
  const absl::Status while_gone = AcceptOne(*journal, "while-gone");
  EXPECT_EQ(while_gone.code(), absl::StatusCode::kUnavailable) << while_gone;
  ASSERT_TRUE(server_->Resume().ok());
  // The journal connects again by itself.
  ASSERT_TRUE(AcceptOne(*journal, "after").ok());
  journal->Close();
  journal.reset();

  journal = OpenOrDie(NodeOptions("a"));
  ASSERT_NE(journal, nullptr);
  absl::StatusOr<std::vector<JournaledFuture>> recovered = RecoverAll(*journal);
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  EXPECT_THAT(Ids(*recovered), ElementsAre("before", "after"))
      << "what was acknowledged is there; what was refused is not";
}

TEST_F(PostgresJournalTest, ANodeWhoseEpochMovedOnWritesNothingMore) {
  absl::Mutex mu;
  std::vector<absl::Status> lost;
  PostgresJournal::Options options = NodeOptions("a");
  options.lost_lease = [&](const absl::Status& why) {
    absl::MutexLock lock(&mu);
    lost.push_back(why);
  };
  std::unique_ptr<PostgresJournal> journal = OpenOrDie(std::move(options));
  ASSERT_NE(journal, nullptr);
  ASSERT_TRUE(AcceptOne(*journal, "kept").ok());
  // What an adopter does first.
  ASSERT_TRUE(PostgresServer::Execute(
                  conninfo_,
                  "UPDATE futured_nodes SET epoch = epoch + 1 WHERE name = 'a'")
                  .ok());
  const absl::Status fenced = AcceptOne(*journal, "fenced");
  EXPECT_EQ(fenced.code(), absl::StatusCode::kFailedPrecondition) << fenced;
  EXPECT_THAT(fenced.message(), HasSubstr("node a lost its lease"));
  EXPECT_EQ(AcceptOne(*journal, "later").code(),
            absl::StatusCode::kFailedPrecondition);
  {
    absl::MutexLock lock(&mu);
    ASSERT_EQ(lost.size(), 1u) << "told once";
    EXPECT_THAT(lost[0].message(), HasSubstr("node a lost its lease"));
  }
  EXPECT_EQ(Query("SELECT string_agg(id, ',') FROM futured_futures"), "kept");
}

TEST_F(PostgresJournalTest, ANodeNameWithALiveLeaseIsRefused) {
  std::unique_ptr<PostgresJournal> a = OpenOrDie(NodeOptions("a"));
  ASSERT_NE(a, nullptr);
  PostgresJournal::Options twin = NodeOptions("a");
  twin.join_wait = absl::Milliseconds(300);
  absl::StatusOr<std::unique_ptr<PostgresJournal>> second =
      PostgresJournal::Open(std::move(twin));
  ASSERT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition)
      << second.status();
  EXPECT_THAT(second.status().message(),
              HasSubstr("give each node its own --node_name"));
}

// An idle node claims the oldest pending future of a live one; the owner's
// Start() of it then reports it lost (and leaves its row to the claimer),
// while the owner's other future starts.
TEST_F(PostgresJournalTest, AClaimedFutureIsLostToItsOwnersStart) {
  std::unique_ptr<PostgresJournal> a = OpenOrDie(NodeOptions("a"));
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(RecoverAll(*a).ok());
  ASSERT_TRUE(Committed([&](Journal::Committed c) {
                a->Accept({Call("p1"), Call("p2"), Call("r1")}, std::move(c));
              }).ok());
  ASSERT_TRUE(StartedLost([&](Journal::Started s) {
                a->Start({"r1"}, absl::Now(), 0, std::move(s));
              }).ok());

  PostgresJournal::Options options = NodeOptions("b");
  options.claim_interval = absl::Milliseconds(50);
  std::unique_ptr<PostgresJournal> b = OpenOrDie(std::move(options));
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(RecoverAll(*b).ok());
  absl::Mutex mu;
  std::vector<JournaledFuture> claimed;
  std::atomic<int> asked = 0;
  b->OnClaim(
      [&] {
        // Room for one, once.
        return Journal::ClaimRoom{.pools = {"thread"},
                                  .functions = {"sleep"},
                                  .count = asked++ == 0 ? 1 : 0};
      },
      [&](std::vector<JournaledFuture> f) {
        absl::MutexLock lock(&mu);
        for (JournaledFuture& one : f) claimed.push_back(std::move(one));
      });
  ASSERT_TRUE(PollUntil([&] {
    absl::MutexLock lock(&mu);
    return !claimed.empty();
  }));
  {
    absl::MutexLock lock(&mu);
    ASSERT_THAT(Ids(claimed), ElementsAre("p1"));  // the oldest pending
    EXPECT_EQ(claimed[0].state, FutureState::kPending);
  }
  absl::StatusOr<std::vector<std::string>> lost =
      StartedLost([&](Journal::Started s) {
        a->Start({"p1", "p2"}, absl::Now(), 0, std::move(s));
      });
  ASSERT_TRUE(lost.ok()) << lost.status();
  EXPECT_THAT(*lost, ElementsAre("p1"));
  EXPECT_EQ(Query("SELECT string_agg(id || '=' || node || '/' || state, ',' "
                  "ORDER BY id) FROM futured_futures"),
            "p1=b/0,p2=a/1,r1=a/1");
  // The claimer starts it as its own.
  lost = StartedLost([&](Journal::Started s) {
    b->Start({"p1"}, absl::Now(), 0, std::move(s));
  });
  ASSERT_TRUE(lost.ok()) << lost.status();
  EXPECT_TRUE(lost->empty());
}

TEST_F(PostgresJournalTest, ALapsedNodesFuturesAreAdoptedInOrder) {
  std::unique_ptr<PostgresJournal> a = OpenOrDie(NodeOptions("a"));
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(Committed([&](Journal::Committed c) {
                a->Accept({Call("p1"), Call("r1"), Call("p2"), Call("d1")},
                          std::move(c));
              }).ok());
  ASSERT_TRUE(Committed([&](Journal::Committed c) {
                a->Start({"r1"}, absl::Now(), 0, AsStarted(std::move(c)));
              }).ok());
  ASSERT_TRUE(Committed([&](Journal::Committed c) {
                a->End("d1", FutureState::kFinished,
                       {.outcome = Number(1), .end_time = absl::Now()},
                       std::move(c));
              }).ok());
  const int64_t a_epoch = a->epoch();
  // As kill -9 leaves it: no writes from a, and its lease lapses.
  a.reset();  // gives the lease up at once

  PostgresJournal::Options options = NodeOptions("b");
  options.lease = absl::Milliseconds(300);  // looks every 100 ms
  options.max_adopted_per_commit = 3;       // two batches
  std::unique_ptr<PostgresJournal> b = OpenOrDie(std::move(options));
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(RecoverAll(*b).ok());
  absl::Mutex mu;
  std::vector<JournaledFuture> adopted;
  std::string from;
  b->OnAdopt([&](const std::string& node, std::vector<JournaledFuture> f) {
    absl::MutexLock lock(&mu);
    from = node;
    for (JournaledFuture& one : f) adopted.push_back(std::move(one));
  });
  ASSERT_TRUE(PollUntil([&] {
    absl::MutexLock lock(&mu);
    return adopted.size() == 4;
  }));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(from, "a");
  EXPECT_THAT(Ids(adopted), ElementsAre("p1", "r1", "p2", "d1"));
  EXPECT_EQ(adopted[0].state, FutureState::kPending);
  EXPECT_EQ(adopted[1].state, FutureState::kRunning);
  EXPECT_EQ(adopted[3].state, FutureState::kFinished);
  EXPECT_EQ(Query("SELECT string_agg(DISTINCT node, ',') FROM futured_futures"),
            "b");
  EXPECT_GT(
      std::stoll(Query("SELECT epoch FROM futured_nodes WHERE name = 'a'")),
      a_epoch)
      << "a is fenced: if it comes back, it writes nothing of this";
}

// The records retries and stops add: a policy and earlier attempts survive
// reopening, an Unstart puts a started future back, and FindCall reads a
// call back.
TEST_F(PostgresJournalTest, RetriesUnstartsAndFindCall) {
  const RetryPolicy policy{.max_attempts = 3, .retry_on = {"ValueError"}};
  const std::vector<AttemptError> earlier = {
      {.attempt = 1,
       .error = {.type = "ValueError", .message = "bad"},
       .end_time = absl::FromUnixSeconds(1002),
       .worker_pid = 7}};
  {
    std::unique_ptr<PostgresJournal> journal = OpenOrDie(NodeOptions("a"));
    ASSERT_TRUE(RecoverAll(*journal).ok());
    AcceptedCall retried = Call("r");
    retried.retry_policy = policy;
    ASSERT_TRUE(Committed([&](Journal::Committed c) {
                  journal->Accept({retried, Call("u")}, std::move(c));
                }).ok());
    ASSERT_TRUE(Committed([&](Journal::Committed c) {
                  journal->Start({"r", "u"}, absl::FromUnixSeconds(1001), 7,
                                 AsStarted(std::move(c)));
                }).ok());
    journal->Unstart({"u"});
    ASSERT_TRUE(Committed([&](Journal::Committed c) {
                  journal->Retry("r", 2, earlier, std::move(c));
                }).ok());
    absl::StatusOr<AcceptedCall> found = journal->FindCall("r");
    ASSERT_TRUE(found.ok()) << found.status();
    EXPECT_EQ(found->args, retried.args);
    EXPECT_EQ(found->retry_policy, policy);
    EXPECT_EQ(journal->FindCall("nothing").status().code(),
              absl::StatusCode::kNotFound);
  }
  std::unique_ptr<PostgresJournal> journal = OpenOrDie(NodeOptions("a"));
  absl::StatusOr<std::vector<JournaledFuture>> futures = RecoverAll(*journal);
  ASSERT_TRUE(futures.ok()) << futures.status();
  ASSERT_EQ(futures->size(), 2u);
  const JournaledFuture& r = (*futures)[0];
  EXPECT_EQ(r.state, FutureState::kPending);
  EXPECT_EQ(r.attempt, 2);
  EXPECT_EQ(r.call.retry_policy, policy);
  ASSERT_EQ(r.earlier_attempts.size(), 1u);
  EXPECT_EQ(r.earlier_attempts[0].error.message, "bad");
  EXPECT_EQ(r.earlier_attempts[0].worker_pid, 7);
  const JournaledFuture& u = (*futures)[1];
  EXPECT_EQ(u.state, FutureState::kPending);
  EXPECT_FALSE(u.start_time.has_value());
}

}  // namespace
}  // namespace futured::server
