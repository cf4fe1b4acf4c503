// Executor::map and Executor::shutdown against the real daemon, with
// Python's semantics (and 3.14's map buffersize).
#include <cmath>
#include <ranges>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "futured/futured.h"
#include "gtest/gtest.h"
#include "tests/integration/client_fixture.h"

namespace futured::testing {
namespace {

TEST_F(ClientTest, MapYieldsResultsInInputOrder) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  std::vector<int> squares;
  for (int s : executor.map<int>("square", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10})) {
    squares.push_back(s);
  }
  EXPECT_EQ(squares, (std::vector<int>{1, 4, 9, 16, 25, 36, 49, 64, 81, 100}));
  std::vector<std::string> downloads;
  std::vector<std::vector<Value>> calls = {{ToValue("http://a"), ToValue(0)},
                                           {ToValue("http://b"), ToValue(0)}};
  for (const std::string& d : executor.map<std::string>(
           "simulate_download", calls, {.spread_inputs = true})) {
    downloads.push_back(d);
  }
  EXPECT_EQ(downloads, (std::vector<std::string>{"Content from http://a",
                                                 "Content from http://b"}));
}

TEST_F(ClientTest, MapRaisesTheFirstErrorAtItsPosition) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  // square(1e200) overflows: OverflowError at index 2 (and again at 4).
  std::vector<double> inputs{1, 2, 1e200, 4, 1e300, 6};
  std::vector<double> yielded;
  try {
    for (double d : executor.map<double>("square", inputs)) {
      yielded.push_back(d);
    }
    ADD_FAILURE() << "map did not raise";
  } catch (const TaskError& e) {
    EXPECT_EQ(e.type(), "OverflowError");
    EXPECT_NE(std::string(e.what()).find("1e+200"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(yielded, (std::vector<double>{1, 4}));
}

TEST_F(ClientTest, MapOverAnEndlessRangeKeepsABoundedNumberInFlight) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  constexpr std::size_t kBuffer = 4;
  int n = 0;
  int64_t most_in_flight = 0;
  int64_t most_futures = 0;
  for (int s : executor.map<int>("square", std::views::iota(0),
                                 {.buffersize = kBuffer})) {
    ASSERT_EQ(s, n * n);
    if (++n % 50 == 0) {
      const PoolStats pool = Pool();
      most_in_flight = std::max(most_in_flight, pool.queued + pool.running);
      most_futures = std::max(most_futures, client_->stats().futures);
    }
    if (n == 300) break;
  }
  // Queued or running on the daemon: at most buffersize (Map calls of two
  // inputs, two calls in flight); and map leaves nothing in the table.
  EXPECT_LE(most_in_flight, static_cast<int64_t>(kBuffer));
  EXPECT_EQ(most_futures, 0);
}

TEST_F(ClientTest, MapTimeoutRaisesTimeoutErrorAndCancelsTheRest) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--threads=2"}));
  Executor executor = client_->executor();
  std::vector<double> yielded;
  try {
    for (double d : executor.map<double>(
             "sleep",
             {0.0, kLongSleepSeconds, kLongSleepSeconds, kLongSleepSeconds},
             {.timeout = absl::Milliseconds(300)})) {
      yielded.push_back(d);
    }
    ADD_FAILURE() << "map did not time out";
  } catch (const TimeoutError&) {
  }
  // sleep(0) may or may not have been yielded in time; nothing else was.
  EXPECT_LE(yielded.size(), 1u);
  for (double d : yielded) EXPECT_EQ(d, 0.0);
  ASSERT_TRUE(PollUntil([&] {
    PoolStats pool = Pool();
    return pool.running == 0 && pool.queued == 0;
  })) << "the map's other tasks were not cancelled";
}

TEST_F(ClientTest, AbandoningAMapOnceReadCancelsItsTasks) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--threads=2"}));
  Executor executor = client_->executor();
  {
    std::vector<double> inputs(5, kLongSleepSeconds);
    inputs[0] = 0;
    auto results = executor.map<double>("sleep", inputs);
    EXPECT_EQ(*results.begin(), 0.0);  // started, as Python's next()
  }
  ASSERT_TRUE(PollUntil([&] {
    PoolStats pool = Pool();
    return pool.running == 0 && pool.queued == 0;
  }));
}

TEST_F(ClientTest, ShutdownWithCancelFuturesCancelsWhatHasNotStarted) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--threads=1"}));
  Executor executor = client_->executor();
  Future<double> running = executor.submit<double>("sleep", 2.0);
  ASSERT_NO_FATAL_FAILURE(AwaitRunning(running));
  std::vector<Future<int>> queued;
  for (int i = 0; i < 5; ++i)
    queued.push_back(executor.submit<int>("square", i));

  executor.shutdown(/*wait=*/true, /*cancel_futures=*/true);
  EXPECT_EQ(running.result(absl::ZeroDuration()), 2.0)
      << "the running one finished";
  EXPECT_FALSE(running.cancelled());
  EXPECT_EQ(running.info().state, FutureState::kFinished);
  for (const Future<int>& f : queued) {
    EXPECT_TRUE(f.cancelled()) << f.id();
    EXPECT_FALSE(f.info().start_time.has_value()) << f.id();
  }
  EXPECT_THROW(executor.submit("echo", 1), Error);
  executor.shutdown();  // again: nothing to do
}

TEST_F(ClientTest, ShutdownWithCancelFuturesNeverStopsARunningTask) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--threads=1"}));
  Executor executor = client_->executor();
  Future<double> running = executor.submit<double>("sleep", kLongSleepSeconds);
  ASSERT_NO_FATAL_FAILURE(AwaitRunning(running));
  Future<int> queued = executor.submit<int>("square", 3);

  // Without waiting: the running task was left alone, not told to stop.
  executor.shutdown(/*wait=*/false, /*cancel_futures=*/true);
  EXPECT_TRUE(queued.cancelled());
  EXPECT_FALSE(running.done());
  EXPECT_TRUE(running.running());
  EXPECT_TRUE(running.cancel());  // so the test ends
}

TEST_F(ClientTest, LeavingTheScopeWaitsAsPythonsWith) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  std::vector<Future<double>> futures;
  {
    Executor executor = client_->executor();
    for (int i = 0; i < 3; ++i) {
      futures.push_back(executor.submit<double>("sleep", 0.1));
    }
  }
  for (const Future<double>& f : futures) {
    EXPECT_EQ(f.result(absl::ZeroDuration()), 0.1);
  }
}

// The executor remembers its futures for shutdown(wait) and forgets those
// known to be done as more are submitted (here 4,000 collected with
// as_completed and dropped): never one that is still running.
TEST_F(ClientTest, ShutdownWaitsForAFutureDroppedAmongManyCollected) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  std::string sleeping_id;
  {
    Executor executor = client_->executor();
    sleeping_id = executor.submit<double>("sleep", 2.0).id();
    for (int batch = 0; batch < 4; ++batch) {
      std::vector<Call> calls;
      for (int i = 0; i < 1000; ++i) calls.push_back(Call("echo").arg(i));
      int collected = 0;
      for (const Future<>& f : as_completed(executor.submit_batch(calls))) {
        (void)f.result();
        ++collected;
      }
      ASSERT_EQ(collected, 1000);
    }
  }  // shutdown(wait=true)
  EXPECT_TRUE(client_->future(sleeping_id).done());
}

TEST_F(ClientTest, ShutdownWithoutWaitReturnsAndTheFuturesGoOn) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  Future<double> f = executor.submit<double>("sleep", kLongSleepSeconds);
  executor.shutdown(/*wait=*/false);
  EXPECT_FALSE(f.done());
  EXPECT_THROW(executor.map("square", {1}), Error);
  EXPECT_TRUE(f.cancel());
}

TEST_F(ClientTest, ClientSubmitRunsTheCallAndReturnsItsFuture) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Future<int> square = client_->submit<int>(Call("square").arg(7));
  EXPECT_EQ(square.result(), 49);
  EXPECT_EQ(square.info().pool, "thread");

  Future<std::string> download = client_->submit<std::string>(
      Call("simulate_download").kwarg("url", "http://a").kwarg("seconds", 0),
      "process");
  EXPECT_EQ(download.result(), "Content from http://a");
  EXPECT_EQ(download.info().pool, "process");

  try {
    client_->submit(Call("echo").arg(1), "no_such_pool");
    ADD_FAILURE() << "submit to an unknown pool did not throw";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), absl::StatusCode::kNotFound) << e.what();
  }
}

TEST_F(ClientTest, ClientSubmitIsTrackedByNoExecutor) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Future<double> sleeper;
  {
    Executor executor = client_->executor();
    sleeper = client_->submit<double>(Call("sleep").arg(kLongSleepSeconds));
    executor.shutdown(/*wait=*/true, /*cancel_futures=*/true);
  }  // neither shutdown nor the destructor waited for it or cancelled it
  EXPECT_FALSE(sleeper.done());
  EXPECT_TRUE(sleeper.cancel());  // so the test ends
}

}  // namespace
}  // namespace futured::testing
