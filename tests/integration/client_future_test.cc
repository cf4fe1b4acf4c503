// futured::Client, Executor::submit and Future<T> against the real daemon:
// Python's Future semantics and the library's error model.
#include <csignal>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "futured/futured.h"
#include "gtest/gtest.h"
#include "tests/integration/client_fixture.h"

namespace futured::testing {
namespace {

TEST_F(ClientTest, SubmitReturnsAFutureWhoseResultHasTheRequestedType) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  Future<int> square = executor.submit<int>("square", 7);
  Future<std::string> echo = executor.submit<std::string>("echo", "hello");
  Future<> any = executor.submit("echo", std::vector<int>{1, 2});
  EXPECT_EQ(square.result(), 49);
  EXPECT_EQ(echo.result(), "hello");
  EXPECT_EQ(FromValue<std::vector<int>>(any.result()),
            (std::vector<int>{1, 2}));
  EXPECT_TRUE(square.done());
  EXPECT_FALSE(square.running());
  EXPECT_FALSE(square.cancelled());
  EXPECT_EQ(square.exception(), std::nullopt);
}

TEST_F(ClientTest, CallCarriesKeywordArgumentsAndTheDaemonsDeadline) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor("thread");
  auto download = executor.submit<std::string>(
      Call("simulate_download").kwarg("url", "http://x").kwarg("seconds", 0));
  EXPECT_EQ(download.result(), "Content from http://x");

  auto late = executor.submit(
      Call("sleep").arg(kLongSleepSeconds).timeout(absl::Milliseconds(10)));
  try {
    late.result();
    ADD_FAILURE() << "the daemon's deadline did not fail the task";
  } catch (const TaskError& e) {
    EXPECT_EQ(e.type(), "TimeoutError");
  }
}

TEST_F(ClientTest, ATaskErrorCarriesTheRemoteTypeAndMessage) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  Future<int> f = executor.submit<int>("fail", "ValueError", "bad input");
  try {
    f.result();
    ADD_FAILURE() << "result() returned";
  } catch (const TaskError& e) {
    EXPECT_EQ(e.type(), "ValueError");
    EXPECT_EQ(e.message(), "bad input");
    EXPECT_STREQ(e.what(), "bad input");  // as Python's str(e)
  }
  std::optional<TaskError> error = f.exception();
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->type(), "ValueError");
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.cancelled());
}

TEST_F(ClientTest, ResultTimeoutRaisesTimeoutErrorAndTheFutureGoesOn) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  Future<double> f = executor.submit<double>("sleep", kLongSleepSeconds);
  EXPECT_THROW(f.result(absl::Milliseconds(20)), TimeoutError);
  EXPECT_THROW(f.exception(absl::ZeroDuration()), TimeoutError);
  ASSERT_NO_FATAL_FAILURE(AwaitRunning(f));
  EXPECT_FALSE(f.done());
  // Unlike Python, a running future can be cancelled.
  EXPECT_TRUE(f.cancel());
  EXPECT_TRUE(f.cancelled());
  EXPECT_THROW(f.result(), CancelledError);
}

TEST_F(ClientTest, CancelOfAPendingFutureMakesResultRaiseCancelledError) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--threads=1"}));
  Executor executor = client_->executor();
  Future<double> busy = executor.submit<double>("sleep", kLongSleepSeconds);
  ASSERT_NO_FATAL_FAILURE(AwaitRunning(busy));
  Future<int> pending = executor.submit<int>("square", 3);
  EXPECT_FALSE(pending.running());
  EXPECT_FALSE(pending.done());

  EXPECT_TRUE(pending.cancel());
  EXPECT_TRUE(pending.cancelled());
  EXPECT_TRUE(pending.done());
  EXPECT_FALSE(pending.info().start_time.has_value()) << "it never started";
  EXPECT_THROW(pending.result(), CancelledError);
  EXPECT_THROW(pending.exception(), CancelledError);
  EXPECT_TRUE(pending.cancel()) << "as Python: true once cancelled";
  EXPECT_TRUE(busy.cancel());
}

TEST_F(ClientTest, CancelOfAFinishedFutureIsFalse) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  Future<int> f = executor.submit<int>("square", 2);
  EXPECT_EQ(f.result(), 4);
  EXPECT_FALSE(f.cancel());
  EXPECT_FALSE(f.cancelled());
}

TEST_F(ClientTest, AProxyThatSawItsOutcomeNeverAsksTheDaemonAgain) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Future<std::string> f;
  Future<int> failed;
  {
    Executor executor = client_->executor();
    f = executor.submit<std::string>("echo", "kept");
    failed = executor.submit<int>("fail", "KeyError", "k");
    ASSERT_EQ(f.result(), "kept");
    ASSERT_TRUE(failed.exception().has_value());
  }
  // The daemon is gone: every answer below comes from the proxies.
  absl::StatusOr<int> stopped = daemon_->Stop(SIGTERM);
  ASSERT_TRUE(stopped.ok()) << stopped.status();
  daemon_.reset();

  EXPECT_EQ(f.result(), "kept");
  EXPECT_EQ(f.result(absl::ZeroDuration()), "kept");
  EXPECT_TRUE(f.done());
  EXPECT_FALSE(f.running());
  EXPECT_FALSE(f.cancelled());
  EXPECT_FALSE(f.cancel());
  EXPECT_EQ(f.exception(), std::nullopt);
  EXPECT_EQ(f.info().state, FutureState::kFinished);
  EXPECT_THROW(failed.result(), TaskError);
  EXPECT_EQ(failed.exception()->type(), "KeyError");
  // A copy shares what the proxy knows.
  Future<std::string> copy = f;
  EXPECT_EQ(copy.result(), "kept");
  // A fresh proxy for the same ID has to ask, and cannot.
  Future<std::string> fresh = client_->future<std::string>(f.id());
  EXPECT_EQ(fresh, f);
  EXPECT_THROW(fresh.done(), RpcError);
}

TEST_F(ClientTest, AResultOfTheWrongTypeIsAValueError) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  Future<int> f = executor.submit<int>("echo", "not a number");
  try {
    f.result();
    ADD_FAILURE() << "result() returned";
  } catch (const ValueError& e) {
    EXPECT_TRUE(absl::StrContains(e.what(), "expected int32_t")) << e.what();
    EXPECT_TRUE(absl::StrContains(e.what(), "not a number")) << e.what();
  }
  EXPECT_EQ(f.as<std::string>().result(), "not a number");
  EXPECT_EQ(executor.submit<int>("echo", 2.5).exception(), std::nullopt);
  EXPECT_THROW(executor.submit<int>("echo", 2.5).result(), ValueError);
}

TEST_F(ClientTest, CallProblemsAreRpcErrorsWithTheStatusCode) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  try {
    executor.submit("no_such_function");
    ADD_FAILURE() << "submit() returned";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), absl::StatusCode::kNotFound);
    EXPECT_TRUE(absl::StrContains(e.what(), "no_such_function")) << e.what();
  }
  try {
    executor.submit("sleep", "not seconds");
    ADD_FAILURE() << "submit() returned";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), absl::StatusCode::kInvalidArgument);
  }
  try {
    client_->executor("no_such_pool").submit("echo", 1);
    ADD_FAILURE() << "submit() returned";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), absl::StatusCode::kNotFound);
  }
  try {
    client_->future("00000000-0000-4000-8000-000000000000").result();
    ADD_FAILURE() << "result() returned";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), absl::StatusCode::kNotFound);
  }
  EXPECT_THROW(Future<int>().result(), Error);
}

TEST_F(ClientTest, AnUnreachableDaemonIsRpcErrorUnavailable) {
  Client client("unix:/nonexistent/futured.sock",
                {.call_timeout = absl::Seconds(5)});
  EXPECT_FALSE(client.wait_for_connected(absl::Milliseconds(10)));
  try {
    client.functions();
    ADD_FAILURE() << "functions() returned";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), absl::StatusCode::kUnavailable) << e.what();
  }
}

TEST_F(ClientTest, InfoFunctionsStatsAndRelease) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--threads=2"}));
  EXPECT_TRUE(client_->wait_for_connected(kPollLimit));
  std::vector<FunctionInfo> functions = client_->functions();
  bool has_sleep = false;
  for (const FunctionInfo& f : functions) {
    if (f.name == "sleep") {
      has_sleep = true;
      EXPECT_EQ(f.signature, "sleep(seconds: number)");
      ASSERT_EQ(f.parameters.size(), 1u);
      EXPECT_EQ(f.parameters[0].name, "seconds");
      EXPECT_TRUE(absl::StrContains(f.json, "\"name\":\"sleep\"")) << f.json;
    }
  }
  EXPECT_TRUE(has_sleep);
  EXPECT_EQ(Pool("thread").workers, 2);

  Executor executor = client_->executor();
  Future<int> f = executor.submit<int>("square", 5);
  EXPECT_EQ(f.result(), 25);
  FutureInfo info = f.info();
  EXPECT_EQ(info.id, f.id());
  EXPECT_EQ(info.function, "square");
  EXPECT_EQ(info.pool, "thread");
  EXPECT_EQ(info.state, FutureState::kFinished);
  EXPECT_TRUE(info.done());
  ASSERT_TRUE(info.value.has_value());
  EXPECT_EQ(info.value->number_value(), 25);
  ASSERT_TRUE(info.start_time.has_value() && info.end_time.has_value());
  EXPECT_LE(*info.start_time, *info.end_time);
  EXPECT_TRUE(absl::StrContains(info.json, "FUTURE_STATE_FINISHED"))
      << info.json;

  EXPECT_GE(client_->stats().futures, 1);
  EXPECT_EQ(client_->release({f.id()}), 1);
  EXPECT_THROW(client_->future(f.id()).done(), RpcError);
}

}  // namespace
}  // namespace futured::testing
