// futured::as_completed and futured::wait against the real daemon, with the
// semantics CPython's test_concurrent_futures pins down.
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "futured/futured.h"
#include "gtest/gtest.h"
#include "tests/integration/client_fixture.h"

namespace futured::testing {
namespace {

std::set<std::string> Ids(const std::vector<Future<>>& futures) {
  std::set<std::string> ids;
  for (const Future<>& f : futures) ids.insert(f.id());
  return ids;
}

TEST_F(ClientTest, AsCompletedYieldsEachFutureOnceEvenWhenGivenTwice) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  Future<> a = executor.submit("echo", 1);
  Future<> b = executor.submit("echo", 2);
  Future<> done_here = executor.submit("echo", 3);
  done_here.result();
  std::vector<Future<>> futures{a, b, a, done_here, b, client_->future(a.id())};
  std::vector<Future<>> yielded;
  for (const Future<>& f : as_completed(futures)) yielded.push_back(f);
  ASSERT_EQ(yielded.size(), 3u);
  EXPECT_EQ(yielded[0], done_here) << "those known done come first";
  EXPECT_EQ(Ids(yielded), Ids({a, b, done_here}));
}

TEST_F(ClientTest, AsCompletedWithATimeoutRaisesAfterYieldingTheFinished) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  Future<> finished = executor.submit("echo", "done");
  ASSERT_TRUE(PollUntil([&] { return finished.done(); }));
  // A fresh proxy: only the daemon knows it is done, so the stream says so.
  finished = client_->future(finished.id());
  Future<> pending = executor.submit("sleep", kLongSleepSeconds);
  ASSERT_NO_FATAL_FAILURE(AwaitRunning(pending));

  std::vector<Future<>> yielded;
  try {
    for (const Future<>& f : as_completed(std::vector{finished, pending},
                                          absl::Milliseconds(100))) {
      yielded.push_back(f);
    }
    ADD_FAILURE() << "as_completed did not time out";
  } catch (const TimeoutError& e) {
    EXPECT_TRUE(absl::StrContains(e.what(), "1 (of 2) futures unfinished"))
        << e.what();
  }
  ASSERT_EQ(yielded.size(), 1u);
  EXPECT_EQ(yielded[0], finished);
  EXPECT_EQ(ToJson(yielded[0].result()), "\"done\"");
  EXPECT_TRUE(pending.cancel());
}

TEST_F(ClientTest, AsCompletedYieldsInCompletionOrder) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  Future<> slow = executor.submit("sleep", kLongSleepSeconds);
  Future<> fast = executor.submit("echo", 1);
  auto completed = as_completed(std::vector{slow, fast});
  auto it = completed.begin();
  ASSERT_FALSE(it == completed.end());
  EXPECT_EQ(*it, fast);
  EXPECT_TRUE(slow.cancel());
  ++it;
  ASSERT_FALSE(it == completed.end());
  EXPECT_EQ(*it, slow);
  EXPECT_THROW(it->result(), CancelledError);
  ++it;
  EXPECT_TRUE(it == completed.end());
}

TEST_F(ClientTest, AsCompletedTakesAMapKeyedByFutureAsPythonsDict) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  std::unordered_map<Future<std::string>, std::string> future_to_url;
  for (std::string url : {"http://a", "http://b", "http://c"}) {
    future_to_url[executor.submit<std::string>(
        Call("simulate_download").arg(url).arg(0))] = url;
  }
  int seen = 0;
  for (const auto& future : as_completed(future_to_url)) {
    EXPECT_EQ(future.result(), "Content from " + future_to_url.at(future));
    ++seen;
  }
  EXPECT_EQ(seen, 3);
  EXPECT_EQ(as_completed(std::vector<Future<>>{}).begin(),
            std::default_sentinel);
}

TEST_F(ClientTest, WaitFirstCompletedReturnsWhenOneIsDone) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  Future<> pending = executor.submit("sleep", kLongSleepSeconds);
  Future<> done = executor.submit("echo", 1);
  auto sets = wait(std::vector{pending, done}, absl::InfiniteDuration(),
                   ReturnWhen::kFirstCompleted);
  EXPECT_EQ(Ids(sets.done), Ids({done}));
  EXPECT_EQ(Ids(sets.not_done), Ids({pending}));
  EXPECT_TRUE(pending.cancel());
}

TEST_F(ClientTest, WaitFirstExceptionReturnsAtTheFirstError) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  Future<> pending = executor.submit("sleep", kLongSleepSeconds);
  Future<> ok = executor.submit("echo", 1);
  ok.result();  // done, without error: FIRST_EXCEPTION still waits
  Future<> failed = executor.submit("fail", "ValueError", "x");
  auto sets = wait(std::vector{pending, ok, failed}, absl::InfiniteDuration(),
                   ReturnWhen::kFirstException);
  EXPECT_EQ(Ids(sets.done), Ids({ok, failed}));
  EXPECT_EQ(Ids(sets.not_done), Ids({pending}));
  EXPECT_TRUE(pending.cancel());
}

TEST_F(ClientTest, WaitFirstExceptionWaitsForAllWhenNoneFails) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  std::vector<Future<>> futures{executor.submit("echo", 1),
                                executor.submit("sleep", 0.2),
                                executor.submit("square", 3)};
  auto sets =
      wait(futures, absl::InfiniteDuration(), ReturnWhen::kFirstException);
  EXPECT_EQ(sets.done.size(), 3u);
  EXPECT_TRUE(sets.not_done.empty());
  for (const Future<>& f : futures) EXPECT_TRUE(f.done());
}

TEST_F(ClientTest, WaitFirstExceptionIgnoresCancellation) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--threads=1"}));
  Executor executor = client_->executor();
  Future<> busy = executor.submit("sleep", kLongSleepSeconds);
  ASSERT_NO_FATAL_FAILURE(AwaitRunning(busy));
  Future<> cancelled = executor.submit("echo", 1);
  ASSERT_TRUE(cancelled.cancel());
  auto sets = wait(std::vector{busy, cancelled}, absl::Milliseconds(50),
                   ReturnWhen::kFirstException);
  EXPECT_EQ(Ids(sets.done), Ids({cancelled}));
  EXPECT_EQ(Ids(sets.not_done), Ids({busy}));
  EXPECT_TRUE(busy.cancel());
}

TEST_F(ClientTest, WaitWithATimeoutReturnsTheSetsAsTheyAre) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  Future<> pending = executor.submit("sleep", kLongSleepSeconds);
  Future<> done = executor.submit("echo", 1);
  done.result();
  Future<> done_elsewhere = executor.submit("echo", 2);
  client_->future(done_elsewhere.id()).result();
  auto sets = wait(std::vector{pending, done, done_elsewhere, pending},
                   absl::Milliseconds(50));
  EXPECT_EQ(Ids(sets.done), Ids({done, done_elsewhere}));
  ASSERT_EQ(sets.not_done.size(), 1u) << "duplicates count once";
  EXPECT_EQ(sets.not_done[0], pending);
  EXPECT_TRUE(pending.cancel());
}

}  // namespace
}  // namespace futured::testing
