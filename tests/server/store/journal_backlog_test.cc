#include "server/store/journal_backlog.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/server/store/journal_test_util.h"

namespace futured::server {
namespace {

using journal_test::Call;
using journal_test::Number;
using Rows = std::pair<int64_t, int64_t>;

journal_ops::Op<> AcceptOf(const std::string& id) {
  return journal_ops::AcceptOp{.calls = {Call(id)}, .committed = nullptr};
}
journal_ops::Op<> StartOf(const std::string& id) {
  return journal_ops::StartOp{.ids = {id},
                              .start_time = absl::FromUnixSeconds(1001),
                              .worker_pid = 7,
                              .committed = nullptr};
}
journal_ops::Op<> EndOf(const std::string& id) {
  return journal_ops::EndOp{
      .id = id,
      .state = FutureState::kFinished,
      .ending = FutureEnding{.outcome = Number(42),
                             .start_time = absl::FromUnixSeconds(1001),
                             .end_time = absl::FromUnixSeconds(1002)},
      .committed = nullptr};
}
journal_ops::Op<> ForgetOf(const std::string& id) {
  return journal_ops::ForgetOp{.ids = {id}};
}

// A future as its row in the table holds it: accepted, PENDING.
JournaledFuture RowOf(const std::string& id) {
  JournaledFuture row;
  row.call = Call(id);
  return row;
}

void Add(JournalBacklog& backlog, journal_ops::Op<> op, int64_t row) {
  backlog.Add(op, row);
}

// What a fold chunk wrote: each future's ID and what the backlog held.
struct Written {
  std::vector<std::pair<std::string, BackloggedFuture>> futures;

  JournalBacklog::Chunk Fold(JournalBacklog& backlog, size_t max = 100) {
    absl::StatusOr<JournalBacklog::Chunk> chunk = backlog.FoldSome(
        max, [this](const std::string& id, BackloggedFuture& future) {
          futures.emplace_back(id, future);
          return absl::OkStatus();
        });
    EXPECT_TRUE(chunk.ok()) << chunk.status();
    return chunk.ok() ? *std::move(chunk) : JournalBacklog::Chunk();
  }
};

JournalBacklog::Options Unhurried() {
  return {.fold_records = 1000, .fold_age = absl::Hours(1)};
}

TEST(JournalBacklogTest,
     AFutureAcceptedAndForgottenInOneGenerationIsNeverWritten) {
  JournalBacklog backlog(Unhurried());
  Add(backlog, AcceptOf("a"), 1);
  Add(backlog, StartOf("a"), 1);
  Add(backlog, EndOf("a"), 2);
  Add(backlog, ForgetOf("a"), 2);
  backlog.RotateIfDue(absl::Now(), /*all=*/true);
  ASSERT_TRUE(backlog.folding());
  Written written;
  JournalBacklog::Chunk chunk = written.Fold(backlog);
  EXPECT_TRUE(written.futures.empty());
  EXPECT_TRUE(chunk.carried.empty());
  ASSERT_TRUE(chunk.rows.has_value());
  EXPECT_EQ(*chunk.rows, Rows(1, 2));
  backlog.Folded(chunk, 0);
  EXPECT_TRUE(backlog.empty());
}

TEST(JournalBacklogTest, AWholeFutureIsCarriedForwardOnceThenWritten) {
  JournalBacklog backlog(Unhurried());
  Add(backlog, AcceptOf("a"), 1);
  backlog.RotateIfDue(absl::Now(), /*all=*/true);
  // A change in the newer generation before the fold reaches it.
  Add(backlog, StartOf("a"), 2);
  Written first;
  JournalBacklog::Chunk chunk = first.Fold(backlog);
  EXPECT_TRUE(first.futures.empty());
  ASSERT_EQ(chunk.carried.size(), 1u);
  EXPECT_EQ(chunk.carried[0].call.id, "a");
  EXPECT_EQ(chunk.carried[0].state, FutureState::kRunning);
  EXPECT_EQ(chunk.carried[0].worker_pid, 7);
  EXPECT_EQ(*chunk.rows, Rows(1, 1));
  backlog.Folded(chunk, 3);
  EXPECT_FALSE(backlog.folding());
  EXPECT_TRUE(backlog.FindCall("a").has_value());

  Add(backlog, EndOf("a"), 4);
  backlog.RotateIfDue(absl::Now(), /*all=*/true);
  Written second;
  chunk = second.Fold(backlog);
  ASSERT_EQ(second.futures.size(), 1u);
  const BackloggedFuture& a = second.futures[0].second;
  ASSERT_TRUE(a.whole.has_value());
  EXPECT_TRUE(a.carried);
  EXPECT_EQ(a.whole->state, FutureState::kFinished);
  EXPECT_TRUE(chunk.carried.empty());
  // The newer generation's rows: 2, the carried records' 3, and 4.
  EXPECT_EQ(*chunk.rows, Rows(2, 4));
}

TEST(JournalBacklogTest, ACarriedFutureForgottenBeforeItsFoldIsDropped) {
  JournalBacklog backlog(Unhurried());
  Add(backlog, AcceptOf("a"), 1);
  backlog.RotateIfDue(absl::Now(), /*all=*/true);
  Add(backlog, ForgetOf("a"), 2);
  Written written;
  JournalBacklog::Chunk chunk = written.Fold(backlog);
  EXPECT_TRUE(written.futures.empty());
  EXPECT_TRUE(chunk.carried.empty());
}

TEST(JournalBacklogTest, ChangesToARowAreWrittenInOrderAndAForgetDeletesIt) {
  JournalBacklog backlog(Unhurried());
  Add(backlog, StartOf("x"), 1);
  Add(backlog, EndOf("x"), 1);
  Add(backlog, StartOf("y"), 1);
  Add(backlog, ForgetOf("y"), 2);
  backlog.RotateIfDue(absl::Now(), /*all=*/true);
  Written written;
  written.Fold(backlog);
  ASSERT_EQ(written.futures.size(), 2u);
  EXPECT_EQ(written.futures[0].first, "x");
  const BackloggedFuture& x = written.futures[0].second;
  EXPECT_FALSE(x.whole.has_value());
  ASSERT_EQ(x.changes.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<StartChange>(x.changes[0]));
  EXPECT_TRUE(std::holds_alternative<EndChange>(x.changes[1]));
  const BackloggedFuture& y = written.futures[1].second;
  EXPECT_TRUE(y.forgotten);
  EXPECT_TRUE(y.changes.empty());
}

TEST(JournalBacklogTest, AChunkTakesAtMostItsSizeAndTheLastEndsTheGeneration) {
  JournalBacklog backlog(Unhurried());
  for (int i = 0; i < 5; ++i) Add(backlog, StartOf(absl::StrCat("r", i)), 1);
  backlog.RotateIfDue(absl::Now(), /*all=*/true);
  std::vector<std::string> order;
  for (int round = 0; round < 3; ++round) {
    Written written;
    JournalBacklog::Chunk chunk = written.Fold(backlog, 2);
    for (const auto& [id, future] : written.futures) order.push_back(id);
    EXPECT_EQ(chunk.rows.has_value(), round == 2);
    backlog.Folded(chunk, 0);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"r0", "r1", "r2", "r3", "r4"}));
  EXPECT_TRUE(backlog.empty());
}

TEST(JournalBacklogTest, RotationWaitsForEnoughRecordsOrAge) {
  JournalBacklog backlog({.fold_records = 3, .fold_age = absl::Seconds(10)});
  const absl::Time now = absl::Now();
  Add(backlog, AcceptOf("a"), 1);
  Add(backlog, AcceptOf("b"), 1);
  backlog.RotateIfDue(now, /*all=*/false);
  EXPECT_FALSE(backlog.folding());
  backlog.RotateIfDue(now + absl::Seconds(11), /*all=*/false);
  EXPECT_TRUE(backlog.folding());

  JournalBacklog by_count({.fold_records = 3, .fold_age = absl::Hours(1)});
  for (const char* id : {"a", "b", "c"}) Add(by_count, AcceptOf(id), 1);
  by_count.RotateIfDue(absl::Now(), /*all=*/false);
  EXPECT_TRUE(by_count.folding());
}

TEST(JournalBacklogTest, ReplayAppliesTheLogToTableRowsAndSkipsWholeOnes) {
  JournalBacklog replayed(Unhurried());
  Add(replayed, EndOf("row"), 1);       // a row the table holds
  Add(replayed, ForgetOf("gone"), 1);   // a row the log deletes
  Add(replayed, AcceptOf("whole"), 1);  // in the log whole
  JournaledFuture row = RowOf("row");
  EXPECT_TRUE(replayed.Replay(row));
  EXPECT_EQ(row.state, FutureState::kFinished);
  JournaledFuture gone = RowOf("gone");
  EXPECT_FALSE(replayed.Replay(gone));
  // A fold a crash cut short wrote it to the table already.
  JournaledFuture whole = RowOf("whole");
  EXPECT_FALSE(replayed.Replay(whole));
  std::vector<std::string> wholes;
  replayed.ForEachWhole(
      [&](JournaledFuture& f) { wholes.push_back(f.call.id); });
  EXPECT_EQ(wholes, std::vector<std::string>{"whole"});

  // Folded later: the one with a row is written, not carried, and a forget
  // of it deletes its row.
  JournalBacklog backlog(Unhurried());
  backlog.Resume(std::move(replayed));
  Add(backlog, ForgetOf("whole"), 2);
  Written written;
  JournalBacklog::Chunk chunk = written.Fold(backlog);
  EXPECT_TRUE(chunk.carried.empty());
  ASSERT_EQ(written.futures.size(), 3u);
  EXPECT_EQ(written.futures[2].first, "whole");
  EXPECT_TRUE(written.futures[2].second.whole.has_value());
  backlog.Folded(chunk, 0);
  backlog.RotateIfDue(absl::Now(), /*all=*/true);
  Written after;
  after.Fold(backlog);
  ASSERT_EQ(after.futures.size(), 1u);
  EXPECT_TRUE(after.futures[0].second.forgotten);
}

TEST(JournalBacklogTest, NothingIsFoldedWhileHeld) {
  JournalBacklog backlog(Unhurried());
  backlog.Hold();
  Add(backlog, AcceptOf("a"), 1);
  backlog.RotateIfDue(absl::Now(), /*all=*/true);
  EXPECT_FALSE(backlog.folding());
  backlog.Resume(JournalBacklog(Unhurried()));
  backlog.RotateIfDue(absl::Now(), /*all=*/true);
  EXPECT_TRUE(backlog.folding());
}

TEST(JournalBacklogTest, FindCallSeesFuturesHeldWholeInEitherGeneration) {
  JournalBacklog backlog(Unhurried());
  Add(backlog, AcceptOf("old"), 1);
  backlog.RotateIfDue(absl::Now(), /*all=*/true);
  Add(backlog, AcceptOf("new"), 2);
  Add(backlog, StartOf("old"), 2);
  EXPECT_EQ(backlog.FindCall("old")->function, "sleep");
  EXPECT_EQ(backlog.FindCall("new")->principal, "alice");
  EXPECT_FALSE(backlog.FindCall("other").has_value());
}

}  // namespace
}  // namespace futured::server
