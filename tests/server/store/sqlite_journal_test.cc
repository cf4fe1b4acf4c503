#include "server/store/sqlite_journal.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server/store/journal_test_util.h"

namespace futured::server {
namespace {

using ::testing::HasSubstr;

using journal_test::Call;
using journal_test::Number;
using journal_test::OpenOrDie;
using journal_test::StateDir;

TEST(SqliteJournalTest, EveryRecordKindSurvivesReopening) {
  StateDir dir;
  {
    std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
    ASSERT_NE(journal, nullptr);
    ASSERT_TRUE(RecoverAll(*journal).ok());
    AcceptedCall with_deadline = Call("b");
    with_deadline.request_id = "req-1";
    with_deadline.deadline = absl::FromUnixSeconds(2000);
    with_deadline.timeout = absl::Seconds(1000);
    std::vector<AcceptedCall> calls = {Call("a"), with_deadline, Call("c"),
                                       Call("d"), Call("e"),     Call("f")};
    ASSERT_TRUE(Committed([&](Journal::Committed c) {
                  journal->Accept(calls, std::move(c));
                }).ok());
    journal->Start({"b"}, absl::FromUnixSeconds(1001), 4242, nullptr);
    journal->Start({"c"}, absl::FromUnixSeconds(1002), 0, nullptr);
    ASSERT_TRUE(Committed([&](Journal::Committed c) {
                  journal->End(
                      "c", FutureState::kFinished,
                      FutureEnding{.outcome = Number(42),
                                   .start_time = absl::FromUnixSeconds(1002),
                                   .end_time = absl::FromUnixSeconds(1003)},
                      std::move(c));
                }).ok());
    TaskError error{.type = "ValueError", .message = "bad"};
    error.details = Number(7);
    journal->End(
        "d", FutureState::kFinished,
        FutureEnding{.outcome = error, .end_time = absl::FromUnixSeconds(1004)},
        nullptr);
    journal->End("e", FutureState::kCancelled,
                 FutureEnding{.outcome = Cancelled{},
                              .end_time = absl::FromUnixSeconds(1005)},
                 nullptr);
    journal->Forget({"f"});
  }
  std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
  ASSERT_NE(journal, nullptr);
  absl::StatusOr<std::vector<JournaledFuture>> futures = RecoverAll(*journal);
  ASSERT_TRUE(futures.ok()) << futures.status();
  ASSERT_EQ(futures->size(), 5u);
  const JournaledFuture& a = (*futures)[0];
  EXPECT_EQ(a.call.id, "a");
  EXPECT_EQ(a.call.principal, "alice");
  EXPECT_EQ(a.call.function, "sleep");
  EXPECT_EQ(a.call.pool, "thread");
  EXPECT_EQ(a.call.submit_time, absl::FromUnixSeconds(1000));
  EXPECT_EQ(a.call.deadline, absl::InfiniteFuture());
  EXPECT_FALSE(a.call.timeout.has_value());
  EXPECT_EQ(a.state, FutureState::kPending);
  google::protobuf::ListValue args;
  ASSERT_TRUE(args.ParseFromString(a.call.args));
  EXPECT_EQ(args.values(0).number_value(), 1.5);

  const JournaledFuture& b = (*futures)[1];
  EXPECT_EQ(b.call.request_id, "req-1");
  EXPECT_EQ(b.call.deadline, absl::FromUnixSeconds(2000));
  EXPECT_EQ(b.call.timeout, absl::Seconds(1000));
  EXPECT_EQ(b.state, FutureState::kRunning);
  EXPECT_EQ(b.worker_pid, 4242);
  EXPECT_EQ(b.start_time, absl::FromUnixSeconds(1001));
  EXPECT_FALSE(b.ending.has_value());

  const JournaledFuture& c = (*futures)[2];
  EXPECT_EQ(c.state, FutureState::kFinished);
  ASSERT_TRUE(c.ending.has_value());
  EXPECT_EQ(std::get<google::protobuf::Value>(c.ending->outcome).number_value(),
            42);
  EXPECT_EQ(c.ending->start_time, absl::FromUnixSeconds(1002));
  EXPECT_EQ(c.ending->end_time, absl::FromUnixSeconds(1003));

  const JournaledFuture& d = (*futures)[3];
  ASSERT_TRUE(d.ending.has_value());
  const auto& raised = std::get<TaskError>(d.ending->outcome);
  EXPECT_EQ(raised.type, "ValueError");
  EXPECT_EQ(raised.message, "bad");
  EXPECT_EQ(raised.details.number_value(), 7);
  EXPECT_FALSE(d.ending->start_time.has_value());

  const JournaledFuture& e = (*futures)[4];
  EXPECT_EQ(e.state, FutureState::kCancelled);
  ASSERT_TRUE(e.ending.has_value());
  EXPECT_TRUE(IsCancelled(e.ending->outcome));
}

// RecoverLeavingDone() gives done futures without a request ID as their ID,
// owner and end time only, and LoadDone() reads them whole when asked.
TEST(SqliteJournalTest, DoneFuturesCanBeLeftOnDiskAndLoadedLater) {
  StateDir dir;
  {
    std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
    ASSERT_NE(journal, nullptr);
    ASSERT_TRUE(RecoverAll(*journal).ok());
    AcceptedCall with_request_id = Call("b");
    with_request_id.request_id = "req-1";
    AcceptedCall bobs = Call("c");
    bobs.principal = "bob";
    ASSERT_TRUE(Committed([&](Journal::Committed c) {
                  journal->Accept({Call("a"), with_request_id, bobs, Call("d")},
                                  std::move(c));
                }).ok());
    for (const char* id : {"a", "b"}) {
      journal->End(id, FutureState::kFinished,
                   FutureEnding{.outcome = Number(42),
                                .start_time = absl::FromUnixSeconds(1002),
                                .end_time = absl::FromUnixSeconds(1003)},
                   nullptr);
    }
    journal->End("c", FutureState::kCancelled,
                 FutureEnding{.outcome = Cancelled{},
                              .end_time = absl::FromUnixSeconds(1005)},
                 nullptr);
  }
  std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
  ASSERT_NE(journal, nullptr);
  std::vector<std::string> whole;
  std::vector<std::string> left;
  ASSERT_TRUE(journal
                  ->RecoverLeavingDone(
                      [&](JournaledFuture& f) { whole.push_back(f.call.id); },
                      [&](const Journal::LeftOnDisk& f) {
                        left.push_back(
                            absl::StrCat(f.id, " ", f.principal, " ",
                                         absl::ToUnixSeconds(f.end_time)));
                      })
                  .ok());
  // b: its request ID must be remembered; d: pending.
  EXPECT_EQ(whole, (std::vector<std::string>{"b", "d"}));
  EXPECT_EQ(left, (std::vector<std::string>{"a alice 1003", "c bob 1005"}));

  absl::StatusOr<JournaledFuture> a = journal->LoadDone("a");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->call.function, "sleep");
  EXPECT_EQ(a->state, FutureState::kFinished);
  ASSERT_TRUE(a->ending.has_value());
  EXPECT_EQ(
      std::get<google::protobuf::Value>(a->ending->outcome).number_value(), 42);
  EXPECT_EQ(a->ending->start_time, absl::FromUnixSeconds(1002));
  absl::StatusOr<JournaledFuture> c = journal->LoadDone("c");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->state, FutureState::kCancelled);
  EXPECT_EQ(journal->LoadDone("nope").status().code(),
            absl::StatusCode::kNotFound);
  journal->Forget({"a"});
  journal->Close();
  EXPECT_EQ(journal->LoadDone("a").status().code(),
            absl::StatusCode::kNotFound);
}

// A future recorded as started that its pool never started is pending
// again; Unstart() leaves a future that has ended as it is.
TEST(SqliteJournalTest, UnstartMakesAStartedFuturePendingAgain) {
  StateDir dir;
  {
    std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
    ASSERT_NE(journal, nullptr);
    ASSERT_TRUE(RecoverAll(*journal).ok());
    ASSERT_TRUE(Committed([&](Journal::Committed c) {
                  journal->Accept({Call("a"), Call("b")}, std::move(c));
                }).ok());
    ASSERT_TRUE(Committed([&](Journal::Committed c) {
                  journal->Start({"a", "b"}, absl::FromUnixSeconds(1001), 77,
                                 AsStarted(std::move(c)));
                }).ok());
    journal->End("b", FutureState::kFinished,
                 FutureEnding{.outcome = Number(4),
                              .end_time = absl::FromUnixSeconds(2)},
                 nullptr);
    journal->Unstart({"a", "b"});
  }
  std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
  ASSERT_NE(journal, nullptr);
  absl::StatusOr<std::vector<JournaledFuture>> futures = RecoverAll(*journal);
  ASSERT_TRUE(futures.ok()) << futures.status();
  ASSERT_EQ(futures->size(), 2u);
  EXPECT_EQ((*futures)[0].state, FutureState::kPending);
  EXPECT_EQ((*futures)[0].worker_pid, 0);
  EXPECT_FALSE((*futures)[0].start_time.has_value());
  EXPECT_EQ((*futures)[1].state, FutureState::kFinished);
}

// FindCall() reads a committed call on a connection of its own, beside the
// writer.
TEST(SqliteJournalTest, FindCallReadsACommittedCall) {
  StateDir dir;
  std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
  ASSERT_NE(journal, nullptr);
  ASSERT_TRUE(RecoverAll(*journal).ok());
  EXPECT_EQ(journal->FindCall("a").status().code(),
            absl::StatusCode::kNotFound);
  AcceptedCall call = Call("a");
  call.deadline = absl::FromUnixSeconds(2000);
  ASSERT_TRUE(Committed([&](Journal::Committed c) {
                journal->Accept({call}, std::move(c));
              }).ok());
  absl::StatusOr<AcceptedCall> found = journal->FindCall("a");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->principal, "alice");
  EXPECT_EQ(found->function, "sleep");
  EXPECT_EQ(found->args, call.args);
  EXPECT_EQ(found->deadline, absl::FromUnixSeconds(2000));
  journal->Forget({"a"});
  journal->Close();  // commits the Forget
  EXPECT_EQ(journal->FindCall("a").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(SqliteJournalTest, CallbacksRunInOrderAndStatsCountRecords) {
  StateDir dir;
  std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
  ASSERT_NE(journal, nullptr);
  std::vector<int> order;
  absl::Mutex mu;
  for (int i = 0; i < 100; ++i) {
    journal->Accept({Call(absl::StrCat("id", i))}, [&, i](absl::Status s) {
      EXPECT_TRUE(s.ok()) << s;
      absl::MutexLock lock(&mu);
      order.push_back(i);
    });
  }
  journal->Close();
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
  const JournalStats stats = journal->Stats();
  EXPECT_EQ(stats.records, 100);
  EXPECT_GE(stats.commits, 1);
  EXPECT_LE(stats.commits, 100);
  EXPECT_GT(stats.file_bytes, 0);
  EXPECT_EQ(stats.path, dir.db());
}

TEST(SqliteJournalTest, WritesAfterCloseAreRefused) {
  StateDir dir;
  std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
  ASSERT_NE(journal, nullptr);
  journal->Close();
  absl::Status status = Committed([&](Journal::Committed c) {
    journal->Accept({Call("a")}, std::move(c));
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SqliteJournalTest, ASecondOpenOfTheDirectoryIsRefused) {
  StateDir dir;
  std::unique_ptr<SqliteJournal> first = OpenOrDie(dir);
  ASSERT_NE(first, nullptr);
  absl::StatusOr<std::unique_ptr<SqliteJournal>> second =
      SqliteJournal::Open({.dir = dir.path()});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("in use by another"));
  EXPECT_THAT(second.status().message(),
              HasSubstr(absl::StrCat("pid ", getpid())));
  first.reset();
  EXPECT_NE(OpenOrDie(dir), nullptr);  // free again once closed
}

TEST(SqliteJournalTest, ANewerSchemaIsRefusedAndLeftAlone) {
  StateDir dir;
  OpenOrDie(dir).reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.db().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  absl::StatusOr<std::unique_ptr<SqliteJournal>> journal =
      SqliteJournal::Open({.dir = dir.path()});
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(journal.status().message(), HasSubstr("schema version 99"));
}

TEST(SqliteJournalTest, AFileThatIsNoDatabaseIsDataLoss) {
  StateDir dir;
  std::ofstream(dir.db()) << std::string(8192, 'x');
  absl::StatusOr<std::unique_ptr<SqliteJournal>> journal =
      SqliteJournal::Open({.dir = dir.path()});
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss)
      << journal.status();
  std::ifstream kept(dir.db());
  std::string content((std::istreambuf_iterator<char>(kept)), {});
  EXPECT_EQ(content, std::string(8192, 'x'));  // never emptied
}

TEST(SqliteJournalTest, AnotherProgramsDatabaseIsRefused) {
  StateDir dir;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.db().c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t(x)", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  absl::StatusOr<std::unique_ptr<SqliteJournal>> journal =
      SqliteJournal::Open({.dir = dir.path()});
  EXPECT_EQ(journal.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(journal.status().message(), HasSubstr("not a futured journal"));
}

TEST(SqliteJournalTest, ATruncatedFileIsAnErrorNotAnEmptyJournal) {
  StateDir dir;
  {
    std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
    ASSERT_NE(journal, nullptr);
    std::vector<AcceptedCall> calls;
    for (int i = 0; i < 2000; ++i) calls.push_back(Call(absl::StrCat(i)));
    ASSERT_TRUE(Committed([&](Journal::Committed c) {
                  journal->Accept(calls, std::move(c));
                }).ok());
  }
  const auto size = std::filesystem::file_size(dir.db());
  ASSERT_GT(size, 8192u);
  std::filesystem::resize_file(dir.db(), size / 2);
  absl::StatusOr<std::unique_ptr<SqliteJournal>> journal =
      SqliteJournal::Open({.dir = dir.path()});
  absl::Status status = journal.status();
  if (journal.ok()) status = RecoverAll(**journal).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
}

TEST(SqliteJournalTest, AFullDiskFailsTheCommitAndKeepsWhatWasCommitted) {
  StateDir dir;
  std::vector<std::string> acknowledged;
  absl::Status failure;
  {
    std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
    ASSERT_NE(journal, nullptr);
    // A file-size limit is a full disk to the writer (EFBIG, not SIGXFSZ).
    struct sigaction ignore {
    }, old{};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGXFSZ, &ignore, &old);
    rlimit limit{}, saved{};
    getrlimit(RLIMIT_FSIZE, &saved);
    limit = saved;
    limit.rlim_cur = 256 * 1024;
    setrlimit(RLIMIT_FSIZE, &limit);
    for (int batch = 0; batch < 100 && failure.ok(); ++batch) {
      std::vector<AcceptedCall> calls;
      for (int i = 0; i < 10; ++i) {
        AcceptedCall call = Call(absl::StrCat(batch, "-", i));
        call.args = std::string(4096, 'a');
        calls.push_back(std::move(call));
      }
      absl::Status status = Committed(
          [&](Journal::Committed c) { journal->Accept(calls, std::move(c)); });
      if (status.ok()) {
        for (const auto& call : calls) acknowledged.push_back(call.id);
      } else {
        failure = status;
      }
    }
    setrlimit(RLIMIT_FSIZE, &saved);
    sigaction(SIGXFSZ, &old, nullptr);
  }
  EXPECT_FALSE(failure.ok());
  EXPECT_TRUE(failure.code() == absl::StatusCode::kResourceExhausted ||
              failure.code() == absl::StatusCode::kUnavailable)
      << failure;
  std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
  ASSERT_NE(journal, nullptr);
  absl::StatusOr<std::vector<JournaledFuture>> futures = RecoverAll(*journal);
  ASSERT_TRUE(futures.ok()) << futures.status();
  std::vector<std::string> recovered;
  for (const auto& f : *futures) recovered.push_back(f.call.id);
  EXPECT_EQ(recovered, acknowledged);
}

TEST(SqliteJournalTest, ARetryPolicyAndFailedAttemptsSurviveReopening) {
  StateDir dir;
  const RetryPolicy policy{.max_attempts = 4,
                           .retry_on = {"WorkerDiedError", "ValueError"},
                           .initial_backoff = absl::Milliseconds(250),
                           .max_backoff = absl::Seconds(8),
                           .multiplier = 3,
                           .jitter = 0.25};
  TaskError died{.type = "WorkerDiedError", .message = "worker 77 died"};
  died.details = Number(9);
  const std::vector<AttemptError> earlier = {
      {.attempt = 1,
       .error = died,
       .start_time = absl::FromUnixNanos(1001000000123),
       .end_time = absl::FromUnixSeconds(1002),
       .worker_pid = 77},
      {.attempt = 2,
       .error = {.type = "ValueError", .message = "bad"},
       .end_time = absl::FromUnixSeconds(1003)}};
  {
    std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
    ASSERT_NE(journal, nullptr);
    ASSERT_TRUE(RecoverAll(*journal).ok());
    AcceptedCall retried = Call("r");
    retried.retry_policy = policy;
    journal->Accept({retried, Call("plain")}, nullptr);
    journal->Start({"r"}, absl::FromUnixSeconds(1001), 77, nullptr);
    journal->Retry("r", 2, {earlier[0]}, nullptr);
    journal->Start({"r"}, absl::FromUnixSeconds(1002), 0, nullptr);
    ASSERT_TRUE(Committed([&](Journal::Committed c) {
                  journal->Retry("r", 3, earlier, std::move(c));
                }).ok());
  }
  std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
  ASSERT_NE(journal, nullptr);
  absl::StatusOr<std::vector<JournaledFuture>> futures = RecoverAll(*journal);
  ASSERT_TRUE(futures.ok()) << futures.status();
  ASSERT_EQ(futures->size(), 2u);
  const JournaledFuture& r = (*futures)[0];
  EXPECT_EQ(r.call.retry_policy, policy);
  EXPECT_EQ(r.state, FutureState::kPending) << "waits for attempt 3";
  EXPECT_EQ(r.attempt, 3);
  EXPECT_FALSE(r.start_time.has_value());
  EXPECT_EQ(r.worker_pid, 0);
  ASSERT_EQ(r.earlier_attempts.size(), 2u);
  const AttemptError& first = r.earlier_attempts[0];
  EXPECT_EQ(first.attempt, 1);
  EXPECT_EQ(first.error.type, "WorkerDiedError");
  EXPECT_EQ(first.error.message, "worker 77 died");
  EXPECT_EQ(first.error.details.number_value(), 9);
  EXPECT_EQ(first.start_time, absl::FromUnixNanos(1001000000123));
  EXPECT_EQ(first.end_time, absl::FromUnixSeconds(1002));
  EXPECT_EQ(first.worker_pid, 77);
  const AttemptError& second = r.earlier_attempts[1];
  EXPECT_EQ(second.attempt, 2);
  EXPECT_EQ(second.error.type, "ValueError");
  EXPECT_FALSE(second.start_time.has_value());

  const JournaledFuture& plain = (*futures)[1];
  EXPECT_FALSE(plain.call.retry_policy.has_value());
  EXPECT_EQ(plain.attempt, 1);
  EXPECT_TRUE(plain.earlier_attempts.empty());
}

// A Cancel may end a future between its retry and the retry's record: the
// end stands.
TEST(SqliteJournalTest, ARetryRecordedAfterTheEndChangesNothing) {
  StateDir dir;
  {
    std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
    ASSERT_NE(journal, nullptr);
    ASSERT_TRUE(RecoverAll(*journal).ok());
    journal->Accept({Call("x")}, nullptr);
    journal->Start({"x"}, absl::FromUnixSeconds(1001), 0, nullptr);
    journal->End("x", FutureState::kCancelled,
                 FutureEnding{.outcome = Cancelled{},
                              .end_time = absl::FromUnixSeconds(1002)},
                 nullptr);
    ASSERT_TRUE(Committed([&](Journal::Committed c) {
                  journal->Retry("x", 2,
                                 {{.error = {.type = "ValueError"},
                                   .end_time = absl::FromUnixSeconds(1002)}},
                                 std::move(c));
                }).ok());
  }
  std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
  ASSERT_NE(journal, nullptr);
  absl::StatusOr<std::vector<JournaledFuture>> futures = RecoverAll(*journal);
  ASSERT_TRUE(futures.ok()) << futures.status();
  ASSERT_EQ(futures->size(), 1u);
  EXPECT_EQ((*futures)[0].state, FutureState::kCancelled);
  EXPECT_EQ((*futures)[0].attempt, 1);
}

// A journal as futured 1 (schema version 1, before retry policies) left it.
TEST(SqliteJournalTest, AVersionOneJournalIsMigratedAndKeepsItsFutures) {
  StateDir dir;
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.db().c_str(), &db), SQLITE_OK);
  google::protobuf::ListValue args;
  *args.add_values() = Number(2);
  const std::string v1 = absl::StrCat(
      "CREATE TABLE futures (seq INTEGER PRIMARY KEY, id TEXT NOT NULL "
      "UNIQUE, principal TEXT NOT NULL, request_id TEXT NOT NULL, function "
      "TEXT NOT NULL, pool TEXT NOT NULL, args BLOB NOT NULL, submit_time "
      "INTEGER NOT NULL, deadline INTEGER, timeout INTEGER, state INTEGER "
      "NOT NULL, worker_pid INTEGER NOT NULL DEFAULT 0, start_time INTEGER, "
      "end_time INTEGER, value BLOB, error_type TEXT, error_message TEXT, "
      "error_details BLOB);"
      "INSERT INTO futures (id, principal, request_id, function, pool, args, "
      "submit_time, state, worker_pid, start_time) VALUES ('old', 'alice', "
      "'', 'sleep', 'thread', x'",
      absl::BytesToHexString(args.SerializeAsString()),
      "', 1000, 1, 55, 1001);"
      "PRAGMA user_version=1; PRAGMA application_id=1179997266;");
  ASSERT_EQ(sqlite3_exec(db, v1.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);

  {
    std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
    ASSERT_NE(journal, nullptr);
    absl::StatusOr<std::vector<JournaledFuture>> futures = RecoverAll(*journal);
    ASSERT_TRUE(futures.ok()) << futures.status();
    ASSERT_EQ(futures->size(), 1u);
    const JournaledFuture& old = (*futures)[0];
    EXPECT_EQ(old.call.id, "old");
    EXPECT_EQ(old.state, FutureState::kRunning);
    EXPECT_EQ(old.worker_pid, 55);
    EXPECT_EQ(old.attempt, 1);
    EXPECT_FALSE(old.call.retry_policy.has_value());
    EXPECT_TRUE(old.earlier_attempts.empty());
    // The new columns take writes.
    ASSERT_TRUE(Committed([&](Journal::Committed c) {
                  journal->Retry("old", 2,
                                 {{.attempt = 1,
                                   .error = {.type = "InterruptedError"},
                                   .end_time = absl::FromUnixSeconds(1002)}},
                                 std::move(c));
                }).ok());
  }
  ASSERT_EQ(sqlite3_open(dir.db().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* version = nullptr;
  ASSERT_EQ(
      sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &version, nullptr),
      SQLITE_OK);
  ASSERT_EQ(sqlite3_step(version), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(version, 0), SqliteJournal::kSchemaVersion);
  EXPECT_EQ(SqliteJournal::kSchemaVersion, 3);
  sqlite3_finalize(version);
  sqlite3_close(db);
  std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
  ASSERT_NE(journal, nullptr);
  absl::StatusOr<std::vector<JournaledFuture>> futures = RecoverAll(*journal);
  ASSERT_TRUE(futures.ok()) << futures.status();
  ASSERT_EQ(futures->size(), 1u);
  EXPECT_EQ((*futures)[0].attempt, 2);
  EXPECT_EQ((*futures)[0].state, FutureState::kPending);
  ASSERT_EQ((*futures)[0].earlier_attempts.size(), 1u);
  EXPECT_EQ((*futures)[0].earlier_attempts[0].error.type, "InterruptedError");
}

}  // namespace
}  // namespace futured::server
