// SqliteJournal's log: records go into log rows first and are folded into
// the futures table later; a crash at any point of that loses nothing.
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "server/store/sqlite_journal.h"
#include "tests/server/store/journal_test_util.h"

namespace futured::server {
namespace {

using journal_test::Call;
using journal_test::Number;
using journal_test::OpenOrDie;
using journal_test::StateDir;

// Folds all the time: a generation every few records, a future per chunk.
SqliteJournal::Options Restless() {
  SqliteJournal::Options options;
  options.backlog.fold_records = 5;
  options.backlog.fold_age = absl::Milliseconds(1);
  options.fold_chunk = 2;
  return options;
}

// Folds only when closed: everything stays in the log until then.
SqliteJournal::Options Unfolded() {
  SqliteJournal::Options options;
  options.backlog.fold_records = 1 << 30;
  options.backlog.fold_age = absl::Hours(1);
  return options;
}

// What a future should be after the scenario's steps.
struct Expected {
  FutureState state = FutureState::kPending;
  int attempt = 1;
  std::optional<double> value;
  std::string error;
};

// A scenario of every record kind over `steps` futures, each step waited
// for: written to `journal` unless it is null, and `expected` is what it
// leaves.
void RunScenario(SqliteJournal* journal, int steps,
                 std::map<std::string, Expected>& expected) {
  auto write = [journal](auto&& op) {
    if (journal == nullptr) return;
    EXPECT_TRUE(Committed([&](Journal::Committed c) {
                  op(*journal, std::move(c));
                }).ok());
  };
  for (int i = 0; i < steps; ++i) {
    const std::string id = absl::StrFormat("f%04d", i);
    write([&](SqliteJournal& j, Journal::Committed c) {
      j.Accept({Call(id)}, std::move(c));
    });
    expected[id] = {};
    if (i % 5 == 1) continue;  // stays pending
    write([&](SqliteJournal& j, Journal::Committed c) {
      j.Start({id}, absl::FromUnixSeconds(1001), 0, AsStarted(std::move(c)));
    });
    expected[id].state = FutureState::kRunning;
    if (i % 5 == 2) continue;  // stays running
    if (i % 5 == 3) {
      write([&](SqliteJournal& j, Journal::Committed c) {
        j.Retry(id, 2,
                {AttemptError{.attempt = 1,
                              .error = {.type = "OSError", .message = "x"},
                              .end_time = absl::FromUnixSeconds(1002)}},
                std::move(c));
      });
      expected[id] = {.state = FutureState::kPending,
                      .attempt = 2,
                      .value = {},
                      .error = {}};
      continue;
    }
    const bool fails = i % 3 == 0;
    FutureEnding ending{.outcome = Number(i),
                        .start_time = absl::FromUnixSeconds(1001),
                        .end_time = absl::FromUnixSeconds(1003)};
    if (fails) ending.outcome = TaskError{.type = "ValueError", .message = id};
    write([&](SqliteJournal& j, Journal::Committed c) {
      j.End(id, FutureState::kFinished, ending, std::move(c));
    });
    expected[id].state = FutureState::kFinished;
    if (fails) {
      expected[id].error = "ValueError";
    } else {
      expected[id].value = i;
    }
    // Every other finished one is released: at once, or an older one.
    if (i % 2 == 0) {
      const std::string released =
          i % 4 == 0 ? id : absl::StrFormat("f%04d", i / 2);
      if (expected.count(released) == 0) continue;
      if (journal != nullptr) journal->Forget({released});
      expected.erase(released);
    }
  }
  // The last Forget is committed once a later record is.
  write([](SqliteJournal& j, Journal::Committed c) {
    j.Start({}, absl::FromUnixSeconds(1), 0, AsStarted(std::move(c)));
  });
}

// Checks recovered `futures` against `expected`, in order.
void ExpectFutures(const std::vector<JournaledFuture>& futures,
                   const std::map<std::string, Expected>& expected) {
  ASSERT_EQ(futures.size(), expected.size());
  auto want = expected.begin();
  for (const JournaledFuture& f : futures) {
    SCOPED_TRACE(f.call.id);
    ASSERT_EQ(f.call.id, want->first);  // the order they were accepted in
    EXPECT_EQ(f.call.function, "sleep");
    EXPECT_EQ(f.state, want->second.state);
    EXPECT_EQ(f.attempt, want->second.attempt);
    EXPECT_EQ(f.earlier_attempts.size(),
              static_cast<size_t>(want->second.attempt - 1));
    if (want->second.value) {
      EXPECT_EQ(
          std::get<google::protobuf::Value>(f.ending->outcome).number_value(),
          *want->second.value);
    }
    if (!want->second.error.empty()) {
      EXPECT_EQ(std::get<TaskError>(f.ending->outcome).type,
                want->second.error);
    }
    ++want;
  }
}

// RecoverAll() through RecoverLeavingDone(): the futures it leaves on disk
// are read back with LoadDone() and put in their place; `left` counts them.
absl::StatusOr<std::vector<JournaledFuture>> RecoverLeavingDoneAll(
    SqliteJournal& journal, int& left) {
  std::vector<std::string> order;
  std::map<std::string, JournaledFuture> whole;
  absl::Status read = journal.RecoverLeavingDone(
      [&](JournaledFuture& f) {
        order.push_back(f.call.id);
        whole[f.call.id] = std::move(f);
      },
      [&](const Journal::LeftOnDisk& f) { order.emplace_back(f.id); });
  if (!read.ok()) return read;
  std::vector<JournaledFuture> futures;
  for (const std::string& id : order) {
    if (auto it = whole.find(id); it != whole.end()) {
      futures.push_back(std::move(it->second));
      continue;
    }
    absl::StatusOr<JournaledFuture> loaded = journal.LoadDone(id);
    if (!loaded.ok()) return loaded.status();
    EXPECT_TRUE(loaded->ending.has_value()) << id;
    futures.push_back(*std::move(loaded));
    ++left;
  }
  return futures;
}

// Recovers `dir`'s journal and checks it against `expected`, in order; with
// `leave_done`, through RecoverLeavingDone(), and returns how many it left
// on disk.
int ExpectRecovered(const StateDir& dir,
                    const std::map<std::string, Expected>& expected,
                    SqliteJournal::Options options, bool leave_done = false) {
  int left = 0;
  std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir, options);
  EXPECT_NE(journal, nullptr);
  if (journal == nullptr) return left;
  absl::StatusOr<std::vector<JournaledFuture>> futures =
      leave_done ? RecoverLeavingDoneAll(*journal, left) : RecoverAll(*journal);
  EXPECT_TRUE(futures.ok()) << futures.status();
  if (!futures.ok()) return left;
  ExpectFutures(*futures, expected);
  return left;
}

// Runs the scenario in a child process that then dies with its journal
// open, as kill -9 leaves it: after `linger`, while its writer may be in
// the middle of a fold.
void ScenarioThenCrash(const StateDir& dir, int steps, absl::Duration linger,
                       SqliteJournal::Options options = Restless()) {
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir, options);
    if (journal == nullptr || !RecoverAll(*journal).ok()) _exit(2);
    std::map<std::string, Expected> expected;
    RunScenario(journal.get(), steps, expected);
    absl::SleepFor(linger);
    _exit(::testing::Test::HasFailure() ? 3 : 0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
}

int64_t Count(const StateDir& dir, const char* sql) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(dir.db().c_str(), &db), SQLITE_OK);
  sqlite3_stmt* statement = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &statement, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_step(statement), SQLITE_ROW);
  const int64_t n = sqlite3_column_int64(statement, 0);
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return n;
}

void Execute(const StateDir& dir, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir.db().c_str(), &db), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
}

TEST(SqliteJournalLogTest, ACrashAtAnyPointOfTheFoldingLosesNothing) {
  struct Case {
    int steps;
    absl::Duration linger;
  };
  for (const Case& c :
       {Case{3, absl::ZeroDuration()}, Case{17, absl::ZeroDuration()},
        Case{40, absl::Milliseconds(2)}, Case{80, absl::ZeroDuration()},
        Case{80, absl::Milliseconds(30)}}) {
    SCOPED_TRACE(absl::StrCat(c.steps, " steps"));
    StateDir dir;
    ScenarioThenCrash(dir, c.steps, c.linger);
    std::map<std::string, Expected> expected;
    RunScenario(nullptr, c.steps, expected);
    ExpectRecovered(dir, expected, Restless());
    // That daemon stopped cleanly: everything is in the table.
    EXPECT_EQ(Count(dir, "SELECT count(*) FROM log"), 0);
    EXPECT_EQ(Count(dir, "SELECT count(*) FROM futures"),
              static_cast<int64_t>(expected.size()));
    ExpectRecovered(dir, expected, {});
  }
}

// RecoverLeavingDone() after a crash at any point of the folding: a done
// future's row is left on disk only when the log does not change it, so
// that reading it back with LoadDone() gives what Recover() would.
TEST(SqliteJournalLogTest, DoneFuturesLeftOnDiskAfterACrashReadBackTheSame) {
  int left_after_crashes = 0;
  for (const auto& [steps, linger] : {std::pair{17, absl::ZeroDuration()},
                                      std::pair{40, absl::Milliseconds(2)},
                                      std::pair{80, absl::Milliseconds(30)}}) {
    SCOPED_TRACE(absl::StrCat(steps, " steps"));
    StateDir dir;
    ScenarioThenCrash(dir, steps, linger);
    std::map<std::string, Expected> expected;
    RunScenario(nullptr, steps, expected);
    left_after_crashes +=
        ExpectRecovered(dir, expected, Restless(), /*leave_done=*/true);
    // Stopped cleanly: every done future is a row the log leaves alone.
    int done = 0;
    for (const auto& [id, want] : expected) {
      done += want.state == FutureState::kFinished;
    }
    EXPECT_EQ(ExpectRecovered(dir, expected, {}, /*leave_done=*/true), done);
  }
  EXPECT_GT(left_after_crashes, 0);
}

// A done future's row that a crash left with a release in the log (not
// folded yet) is not left on disk: it is gone, as Recover() has it.
TEST(SqliteJournalLogTest, ADoneRowReleasedInTheLogIsNotLeftOnDisk) {
  StateDir dir;
  {
    std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
    ASSERT_NE(journal, nullptr);
    ASSERT_TRUE(RecoverAll(*journal).ok());
    ASSERT_TRUE(Committed([&](Journal::Committed c) {
                  journal->Accept({Call("a"), Call("b")}, std::move(c));
                }).ok());
    for (const char* id : {"a", "b"}) {
      journal->End(id, FutureState::kFinished,
                   FutureEnding{.outcome = Number(1),
                                .end_time = absl::FromUnixSeconds(1002)},
                   nullptr);
    }
  }  // closed: both are rows of the table
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir, Unfolded());
    if (journal == nullptr || !RecoverAll(*journal).ok()) _exit(2);
    journal->Forget({"a"});
    // Committed with the record after it; then dies before any fold.
    const absl::Status later = Committed([&](Journal::Committed c) {
      journal->Start({}, absl::FromUnixSeconds(1), 0, AsStarted(std::move(c)));
    });
    _exit(later.ok() ? 0 : 3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  ASSERT_GT(Count(dir, "SELECT count(*) FROM log"), 0);
  ASSERT_EQ(Count(dir, "SELECT count(*) FROM futures"), 2);
  std::map<std::string, Expected> expected;
  expected["b"] = {.state = FutureState::kFinished, .value = 1, .error = ""};
  EXPECT_EQ(ExpectRecovered(dir, expected, Unfolded(), /*leave_done=*/true), 1);
}

TEST(SqliteJournalLogTest, ARestartWithoutACrashFindsTheSame) {
  StateDir dir;
  std::map<std::string, Expected> expected;
  {
    std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir, Restless());
    ASSERT_NE(journal, nullptr);
    ASSERT_TRUE(RecoverAll(*journal).ok());
    RunScenario(journal.get(), 60, expected);
  }
  ExpectRecovered(dir, expected, Restless());
}

TEST(SqliteJournalLogTest, FuturesReleasedSoonAfterTheyEndNeverReachTheTable) {
  StateDir dir;
  OpenOrDie(dir).reset();  // creates the schema
  Execute(dir,
          "CREATE TABLE inserts (n INTEGER); INSERT INTO inserts VALUES (0);"
          "CREATE TRIGGER counted AFTER INSERT ON futures "
          "BEGIN UPDATE inserts SET n = n + 1; END;");
  {
    // One generation for all of them.
    std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir, Unfolded());
    ASSERT_NE(journal, nullptr);
    ASSERT_TRUE(RecoverAll(*journal).ok());
    std::vector<AcceptedCall> calls;
    std::vector<std::string> ids;
    for (int i = 0; i < 200; ++i) {
      ids.push_back(absl::StrCat("r", i));
      calls.push_back(Call(ids.back()));
    }
    calls.push_back(Call("kept"));
    ASSERT_TRUE(Committed([&](Journal::Committed c) {
                  journal->Accept(calls, std::move(c));
                }).ok());
    journal->Start(ids, absl::FromUnixSeconds(1001), 0, nullptr);
    for (const std::string& id : ids) {
      journal->End(id, FutureState::kFinished,
                   FutureEnding{.outcome = Number(1),
                                .end_time = absl::FromUnixSeconds(1002)},
                   nullptr);
    }
    journal->Forget(ids);
  }
  // Only the one kept got a row.
  EXPECT_EQ(Count(dir, "SELECT n FROM inserts"), 1);
  EXPECT_EQ(Count(dir, "SELECT count(*) FROM futures"), 1);
  EXPECT_EQ(Count(dir, "SELECT count(*) FROM log"), 0);
}

TEST(SqliteJournalLogTest, RowsACrashLeftAreFoldedOnlyAfterRecover) {
  StateDir dir;
  // Never folded before the crash: everything is in the log.
  ScenarioThenCrash(dir, 30, absl::ZeroDuration(), Unfolded());
  ASSERT_GT(Count(dir, "SELECT count(*) FROM log"), 0);
  std::map<std::string, Expected> expected;
  RunScenario(nullptr, 30, expected);
  {
    // Written to without reading it first: what the log held stays there.
    std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir, Restless());
    ASSERT_NE(journal, nullptr);
    ASSERT_TRUE(Committed([&](Journal::Committed c) {
                  journal->Accept({Call("later")}, std::move(c));
                }).ok());
  }
  expected["later"] = {};
  ExpectRecovered(dir, expected, Restless());
}

TEST(SqliteJournalLogTest, FindCallFindsAFutureStillOnlyInTheLog) {
  StateDir dir;
  std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir, Unfolded());
  ASSERT_NE(journal, nullptr);
  ASSERT_TRUE(RecoverAll(*journal).ok());
  ASSERT_TRUE(Committed([&](Journal::Committed c) {
                journal->Accept({Call("a")}, std::move(c));
              }).ok());
  EXPECT_EQ(Count(dir, "SELECT count(*) FROM futures"), 0);
  absl::StatusOr<AcceptedCall> found = journal->FindCall("a");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->args, Call("a").args);
}

// Many futures, folded into the table, come back in the order they were
// accepted.
TEST(SqliteJournalLogTest, ManyFuturesComeBackInTheOrderAccepted) {
  StateDir dir;
  std::map<std::string, Expected> expected;
  {
    std::unique_ptr<SqliteJournal> journal = OpenOrDie(dir);
    ASSERT_NE(journal, nullptr);
    ASSERT_TRUE(RecoverAll(*journal).ok());
    std::vector<AcceptedCall> calls;
    for (int i = 0; i < 3000; ++i) {
      calls.push_back(Call(absl::StrFormat("m%05d", i)));
      expected[calls.back().id] = {};
    }
    ASSERT_TRUE(Committed([&](Journal::Committed c) {
                  journal->Accept(calls, std::move(c));
                }).ok());
  }
  ASSERT_EQ(Count(dir, "SELECT count(*) FROM futures"), 3000);
  ExpectRecovered(dir, expected, {});
}

}  // namespace
}  // namespace futured::server
