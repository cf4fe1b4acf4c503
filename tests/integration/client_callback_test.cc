// Future::add_done_callback against the real daemon: callbacks run exactly
// once, at once when added after completion, else on the client's callback
// thread when the daemon's Watch stream reports the future done.
#include <atomic>
#include <csignal>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "futured/futured.h"
#include "gtest/gtest.h"
#include "tests/integration/client_fixture.h"

namespace futured::testing {
namespace {

TEST_F(ClientTest, ACallbackAddedAfterCompletionRunsAtOnceInTheCaller) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  Future<int> f = executor.submit<int>("square", 6);
  ASSERT_EQ(f.result(), 36);
  int calls = 0;
  std::thread::id ran_on;
  f.add_done_callback([&](const Future<int>& done) {
    ++calls;
    ran_on = std::this_thread::get_id();
    EXPECT_EQ(done.result(), 36);
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST_F(ClientTest, ACallbackRunsOnceOnTheCallbackThreadWhenTheFutureIsDone) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  Future<double> f = executor.submit<double>("sleep", kLongSleepSeconds);
  std::atomic<int> calls = 0;
  std::thread::id ran_on;
  bool cancelled = false;
  absl::Notification ran;
  f.add_done_callback([&](const Future<double>& done) {
    ran_on = std::this_thread::get_id();
    cancelled = done.cancelled();
    if (++calls == 1) ran.Notify();
  });
  EXPECT_EQ(calls, 0);
  // Cancelled by another client: this one hears of it from the daemon, and
  // its callback thread runs the callback. (A cancel() of this client's own
  // runs them in its caller's thread, as Python's does: see
  // client_semantics_test.)
  Client other(daemon_->address());
  EXPECT_TRUE(other.future<double>(f.id()).cancel());
  ASSERT_TRUE(ran.WaitForNotificationWithTimeout(kPollLimit));
  EXPECT_NE(ran_on, std::this_thread::get_id());
  EXPECT_TRUE(cancelled);
  // A second callback on the now-known outcome runs here, once.
  int later = 0;
  f.add_done_callback([&](const Future<double>&) { ++later; });
  EXPECT_EQ(later, 1);
  client_.reset();  // joins the callback thread
  EXPECT_EQ(calls, 1);
}

TEST_F(ClientTest, ManyCallbacksOnManyFuturesEachRunExactlyOnce) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  constexpr int kFutures = 100;
  Executor executor = client_->executor();
  std::vector<Future<int>> futures;
  for (int i = 0; i < kFutures; ++i) {
    futures.push_back(executor.submit<int>("square", i));
  }
  absl::Mutex mu;
  std::vector<int> calls(kFutures, 0);
  absl::BlockingCounter all(2 * kFutures);
  for (int i = 0; i < kFutures; ++i) {
    for (int copy = 0; copy < 2; ++copy) {
      futures[i].add_done_callback([&, i](const Future<int>& done) {
        EXPECT_EQ(done.result(), i * i);
        {
          absl::MutexLock lock(&mu);
          ++calls[i];
        }
        all.DecrementCount();
      });
    }
  }
  all.Wait();
  client_.reset();  // no callback may run after this
  for (int i = 0; i < kFutures; ++i) EXPECT_EQ(calls[i], 2) << i;
}

TEST_F(ClientTest, CallbacksOfManyPendingFuturesShareOneStream) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--threads=2"}));
  constexpr int kFutures = 20;
  Executor executor = client_->executor();
  std::vector<Future<double>> futures;
  absl::BlockingCounter all(kFutures);
  for (int i = 0; i < kFutures; ++i) {
    futures.push_back(executor.submit<double>("sleep", kLongSleepSeconds));
    futures.back().add_done_callback(
        [&](const Future<double>&) { all.DecrementCount(); });
  }
  // One Watch call waits in the daemon, not one call per future.
  ASSERT_TRUE(PollUntil([&] { return client_->stats().waiting_calls >= 1; }));
  EXPECT_EQ(client_->stats().waiting_calls, 1);
  for (const Future<double>& f : futures) f.cancel();
  all.Wait();
}

TEST_F(ClientTest, WhenTheDaemonGoesAwayPendingCallbacksRunWithRpcError) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--shutdown_grace=0s"}));
  Executor executor = client_->executor();
  Future<double> f = executor.submit<double>("sleep", kLongSleepSeconds);
  absl::Notification ran;
  f.add_done_callback([&](const Future<double>&) { ran.Notify(); });
  ASSERT_TRUE(PollUntil([&] { return client_->stats().waiting_calls >= 1; }));
  // SIGKILL: gone at once. (On SIGTERM the daemon would first send the
  // cancelled sleep's final state, as shutdown_test checks.)
  absl::StatusOr<int> stopped = daemon_->Stop(SIGKILL);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  daemon_.reset();
  ASSERT_TRUE(ran.WaitForNotificationWithTimeout(kPollLimit));
  try {
    f.result();
    ADD_FAILURE() << "result() returned";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), absl::StatusCode::kUnavailable) << e.what();
  }
  executor.shutdown(/*wait=*/false);
}

TEST_F(ClientTest, ACallbackOnAFutureKnownDoneFromWaitRunsAtOnce) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  std::vector<Future<int>> futures{executor.submit<int>("square", 9)};
  auto [done, not_done] = wait(futures);
  ASSERT_EQ(done.size(), 1u);
  int value = 0;
  done[0].add_done_callback([&](const Future<int>& f) { value = f.result(); });
  EXPECT_EQ(value, 81);
}

TEST_F(ClientTest, AnExceptionInACallbackIsReportedAndTheOthersStillRun) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  Future<double> f = executor.submit<double>("sleep", kLongSleepSeconds);
  absl::Notification second;
  f.add_done_callback(
      [](const Future<double>&) { throw std::runtime_error("oops"); });
  f.add_done_callback([&](const Future<double>&) { second.Notify(); });
  f.cancel();
  EXPECT_TRUE(second.WaitForNotificationWithTimeout(kPollLimit));
}

TEST_F(ClientTest, PendingCallbacksRunOnceWhenTheClientIsDestroyed) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  Future<double> f = executor.submit<double>("sleep", kLongSleepSeconds);
  std::atomic<int> calls = 0;
  f.add_done_callback([&](const Future<double>&) { ++calls; });
  client_.reset();
  EXPECT_EQ(calls, 1);
  try {
    f.result();
    ADD_FAILURE() << "result() returned";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), absl::StatusCode::kCancelled) << e.what();
  }
  // The future itself still runs on the daemon, and the executor (which
  // outlives its client) waits for it: stop it with a new proxy.
  Client other(daemon_->address());
  EXPECT_TRUE(other.future(f.id()).cancel());
}

}  // namespace
}  // namespace futured::testing
