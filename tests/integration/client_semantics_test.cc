// The client library against the real daemon, on both pools, where issue 13
// found it differing from Python's concurrent.futures (CPython's
// Lib/test/test_concurrent_futures): wait's sets, as_completed's timeout,
// cancel's callbacks, map's errors and map under shutdown.
#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "futured/futured.h"
#include "gtest/gtest.h"
#include "tests/integration/client_fixture.h"

namespace futured::testing {
namespace {

// Long enough to still run when the assertions about it are made, short
// enough that a broken fix fails the test instead of hanging it.
constexpr double kWhileAsserting = 20;

std::set<std::string> Ids(const std::vector<Future<>>& futures) {
  std::set<std::string> ids;
  for (const Future<>& f : futures) ids.insert(f.id());
  return ids;
}

// A new proxy of `future`: it knows nothing, so only the daemon can say
// whether the future is done.
Future<> Fresh(Client& client, const Future<>& future) {
  return client.future(future.id());
}

using ClientSemanticsTest = ClientPoolTest;

// --- wait ---------------------------------------------------------------

// Python's wait() puts every done future in `done`, also when one known
// done settles FIRST_COMPLETED at once.
TEST_P(ClientSemanticsTest, WaitFirstCompletedPutsEveryDoneFutureInDone) {
  ASSERT_NO_FATAL_FAILURE(StartDaemonWithWorkers(2));
  Executor executor = PoolExecutor();
  Future<> known = executor.submit("echo", 1);
  known.result();
  Future<> done_elsewhere = executor.submit("echo", 2);
  Fresh(*client_, done_elsewhere).result();  // done, but not to this proxy
  Future<> running = executor.submit("sleep", kLongSleepSeconds);
  ASSERT_NO_FATAL_FAILURE(AwaitRunning(running));

  for (ReturnWhen when :
       {ReturnWhen::kFirstCompleted, ReturnWhen::kFirstException}) {
    auto [done, not_done] = wait(std::vector{known, done_elsewhere, running},
                                 absl::Seconds(60), when);
    EXPECT_EQ(Ids(done), Ids({known, done_elsewhere}));
    EXPECT_EQ(Ids(not_done), Ids({running}));
  }
  EXPECT_TRUE(running.cancel());
}

TEST_P(ClientSemanticsTest, WaitFirstExceptionPutsEveryDoneFutureInDone) {
  ASSERT_NO_FATAL_FAILURE(StartDaemonWithWorkers(2));
  Executor executor = PoolExecutor();
  Future<> failed = executor.submit("fail", "ValueError", "boom");
  EXPECT_THROW(failed.result(), TaskError);
  Future<> done_elsewhere = executor.submit("echo", 2);
  Fresh(*client_, done_elsewhere).result();
  Future<> running = executor.submit("sleep", kLongSleepSeconds);
  ASSERT_NO_FATAL_FAILURE(AwaitRunning(running));

  auto [done, not_done] = wait(std::vector{failed, done_elsewhere, running},
                               absl::Seconds(60), ReturnWhen::kFirstException);
  EXPECT_EQ(Ids(done), Ids({failed, done_elsewhere}));
  EXPECT_EQ(Ids(not_done), Ids({running}));
  EXPECT_TRUE(running.cancel());
}

// A failure known as "done" from an earlier wait() (which does not carry
// the outcome) still settles FIRST_EXCEPTION at once.
TEST_P(ClientSemanticsTest,
       WaitFirstExceptionCountsAFailureSeenByAnEarlierWait) {
  ASSERT_NO_FATAL_FAILURE(StartDaemonWithWorkers(2));
  Executor executor = PoolExecutor();
  Future<> failed = executor.submit("fail", "ValueError", "boom");
  ASSERT_EQ(wait(std::vector{failed}).done.size(), 1u);
  Future<> running = executor.submit("sleep", kWhileAsserting);
  ASSERT_NO_FATAL_FAILURE(AwaitRunning(running));

  auto [done, not_done] =
      wait(std::vector{failed, running}, absl::InfiniteDuration(),
           ReturnWhen::kFirstException);
  EXPECT_EQ(Ids(done), Ids({failed}));
  EXPECT_EQ(Ids(not_done), Ids({running}))
      << "wait returned only once the sleep was over";
  EXPECT_TRUE(running.cancel());
}

// shutdown(wait=true) learns that its futures are done the same way.
TEST_P(ClientSemanticsTest, WaitFirstExceptionCountsAFailureSeenByShutdown) {
  ASSERT_NO_FATAL_FAILURE(StartDaemonWithWorkers(2));
  Executor first = PoolExecutor();
  Future<> failed = first.submit("fail", "ValueError", "boom");
  first.shutdown(/*wait=*/true);
  Executor second = PoolExecutor();
  Future<> running = second.submit("sleep", kWhileAsserting);
  ASSERT_NO_FATAL_FAILURE(AwaitRunning(running));

  auto [done, not_done] =
      wait(std::vector{failed, running}, absl::InfiniteDuration(),
           ReturnWhen::kFirstException);
  EXPECT_EQ(Ids(done), Ids({failed}));
  EXPECT_EQ(Ids(not_done), Ids({running}))
      << "wait returned only once the sleep was over";
  EXPECT_TRUE(running.cancel());
}

// --- as_completed -------------------------------------------------------

// Futures all done on the daemon, unknown here: as_completed(timeout=0)
// yields them all and raises nothing, as Python raises only while futures
// are pending. The daemon's timer and its sending race, so many rounds.
TEST_P(ClientSemanticsTest,
       AsCompletedWithZeroTimeoutOverDoneFuturesRaisesNot) {
  ASSERT_NO_FATAL_FAILURE(StartDaemonWithWorkers(2));
  Executor executor = PoolExecutor();
  std::vector<Call> calls;
  // More than one AsCompleted message (256 futures each).
  for (int i = 0; i < 600; ++i) calls.push_back(Call("echo").arg(i));
  std::vector<Future<>> futures = executor.submit_batch(calls);
  ASSERT_EQ(wait(futures).not_done.size(), 0u);

  for (int round = 0; round < 20; ++round) {
    std::vector<Future<>> fresh;
    for (const Future<>& f : futures) fresh.push_back(Fresh(*client_, f));
    std::size_t yielded = 0;
    try {
      for (const Future<>& f : as_completed(fresh, absl::ZeroDuration())) {
        (void)f;
        ++yielded;
      }
    } catch (const TimeoutError& e) {
      ADD_FAILURE() << "round " << round << ": " << e.what();
    }
    ASSERT_EQ(yielded, futures.size()) << "round " << round;
  }
}

// --- cancel -------------------------------------------------------------

// Python's cancel() runs the done-callbacks before it returns. The callback
// thread is kept busy, so a callback left to it could not have run.
TEST_P(ClientSemanticsTest, CancelRunsTheDoneCallbacksBeforeItReturns) {
  ASSERT_NO_FATAL_FAILURE(StartDaemonWithWorkers(1));
  Executor executor = PoolExecutor();
  // Shared with the callback, which may still be returning from
  // WaitForNotification when the test ends.
  auto busy = std::make_shared<absl::Notification>();
  auto release = std::make_shared<absl::Notification>();
  Future<> occupier = executor.submit("echo", 0);
  occupier.add_done_callback([busy, release](const Future<>&) {
    busy->Notify();
    release->WaitForNotification();
  });
  ASSERT_TRUE(busy->WaitForNotificationWithTimeout(kPollLimit));
  Future<> blocker = executor.submit("sleep", kLongSleepSeconds);
  ASSERT_NO_FATAL_FAILURE(AwaitRunning(blocker));

  for (int i = 0; i < 10; ++i) {
    Future<> queued = executor.submit("echo", i);
    std::atomic<int> calls{0};
    queued.add_done_callback([&](const Future<>& f) {
      EXPECT_TRUE(f.cancelled());
      ++calls;
    });
    EXPECT_TRUE(queued.cancel());
    EXPECT_EQ(calls.load(), 1) << "cancel " << i;
  }
  release->Notify();
  EXPECT_TRUE(blocker.cancel());
}

// --- map ----------------------------------------------------------------

// Python's map yields the results before a bad input and raises at it.
TEST_P(ClientSemanticsTest, MapRaisesABadInputsTypeErrorAtItsPosition) {
  ASSERT_NO_FATAL_FAILURE(StartDaemonWithWorkers(2));
  Executor executor = PoolExecutor();
  std::vector<Value> inputs{ToValue(1), ToValue(2), ToValue("x"), ToValue(4)};
  std::vector<int> yielded;
  try {
    for (int s : executor.map<int>("square", inputs)) yielded.push_back(s);
    ADD_FAILURE() << "map did not raise";
  } catch (const TaskError& e) {
    EXPECT_EQ(e.type(), "TypeError") << e.what();
  }
  EXPECT_EQ(yielded, (std::vector<int>{1, 4}));
}

// Python's map submits every input, and shutdown(wait=True) waits for them
// whether or not the results were read.
TEST_P(ClientSemanticsTest, ShutdownWaitsForAMapsUnreadResults) {
  ASSERT_NO_FATAL_FAILURE(StartDaemonWithWorkers(2));
  Executor executor = PoolExecutor();
  auto results =
      executor.map<double>("sleep", std::vector<double>{0.5, 0.5, 0.5, 0.5});
  executor.shutdown(/*wait=*/true);
  const PoolStats pool = Pool(GetParam());
  EXPECT_EQ(pool.running + pool.queued, 0) << "shutdown did not wait";
  std::vector<double> yielded;
  for (double d : results) yielded.push_back(d);
  EXPECT_EQ(yielded, (std::vector<double>{0.5, 0.5, 0.5, 0.5}));
}

// A map dropped before it was read is not cancelled (Python's iterator,
// never started, cancels nothing): its tasks finish and shutdown waits.
TEST_P(ClientSemanticsTest, AMapDroppedUnreadRunsToTheEnd) {
  ASSERT_NO_FATAL_FAILURE(StartDaemonWithWorkers(2));
  Executor executor = PoolExecutor();
  { (void)executor.map("sleep", std::vector<double>{0.5, 0.5, 0.5}); }
  executor.shutdown(/*wait=*/true);
  const PoolStats pool = Pool(GetParam());
  EXPECT_EQ(pool.running + pool.queued, 0) << "shutdown did not wait";
  // The daemon counts them finished, not cancelled.
  const Value stats = ParseJson(client_->stats().json);
  bool found = false;
  for (const Value& fn :
       stats.struct_value().fields().at("functions").list_value().values()) {
    const auto& fields = fn.struct_value().fields();
    if (fields.at("function").string_value() != "sleep") continue;
    found = true;
    EXPECT_EQ(ToJson(fields.at("finished")), "\"3\"");
    EXPECT_EQ(fields.count("cancelled"), 0u) << ToJson(fn);
  }
  EXPECT_TRUE(found) << client_->stats().json;
}

TEST_P(ClientSemanticsTest, ShutdownAndBuffersizeErrorsHavePythonsTypes) {
  ASSERT_NO_FATAL_FAILURE(StartDaemonWithWorkers(1));
  Executor executor = PoolExecutor();
  EXPECT_THROW(executor.map("echo", {1}, {.buffersize = 0}), ValueError);
  executor.shutdown();
  EXPECT_THROW(executor.submit("echo", 1), RuntimeError);
  EXPECT_THROW(executor.map("echo", {1}), RuntimeError);
  EXPECT_THROW(executor.submit_batch({Call("echo").arg(1)}), RuntimeError);
  EXPECT_THROW(executor.run("echo", 1), RuntimeError);
}

INSTANTIATE_TEST_SUITE_P(BothPools, ClientSemanticsTest, kBothPools, PoolName);

}  // namespace
}  // namespace futured::testing
