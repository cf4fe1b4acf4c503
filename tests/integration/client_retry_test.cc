// The client library's retry policy (Call::retry) against the real daemon:
// a process-pool worker that dies under its task is retried, and the
// future's info shows the attempts; a policy out of bounds throws.
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "futured/futured.h"
#include "gtest/gtest.h"
#include "tests/integration/client_fixture.h"
#include "tests/integration/temp_dir.h"

namespace futured::testing {
namespace {

using ClientRetryTest = ClientTest;

TEST_F(ClientRetryTest, ARetriedFutureFinishesAndItsInfoShowsTheAttempts) {
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon({"--exec_allow=/bin/sh", "--processes=1"}));
  TempDir dir;
  const std::string counter = dir.Write("calls", "");
  // Kills its worker (sh's parent) on the first call only.
  const std::vector<std::string> argv = {
      "/bin/sh", "-c",
      absl::StrCat("echo ran >> ", counter, "; [ $(wc -l < ", counter,
                   ") -ge 2 ] || kill -9 $PPID")};
  Executor executor = client_->executor("process");
  Future<> future = executor.submit(Call("exec").arg(argv).retry(
      RetryPolicy{.max_attempts = 2,
                  .retry_on = {"WorkerDiedError"},
                  .initial_backoff = absl::Milliseconds(10),
                  .max_backoff = absl::Milliseconds(10)}));
  EXPECT_EQ(
      future.result().struct_value().fields().at("exit_code").number_value(),
      0);
  const FutureInfo info = future.info();
  EXPECT_EQ(info.attempt, 2);
  EXPECT_EQ(info.max_attempts, 2);
  ASSERT_EQ(info.earlier_attempts.size(), 1u);
  EXPECT_EQ(info.earlier_attempts[0].attempt, 1);
  EXPECT_EQ(info.earlier_attempts[0].error.type(), "WorkerDiedError");
  EXPECT_TRUE(info.earlier_attempts[0].end_time.has_value());
  EXPECT_NE(info.earlier_attempts[0].worker_pid, info.worker_pid);
}

TEST_F(ClientRetryTest, WithoutAPolicyAFutureHasOneAttempt) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  Future<int> future = executor.submit<int>("square", 3);
  EXPECT_EQ(future.result(), 9);
  EXPECT_EQ(future.info().attempt, 1);
  EXPECT_EQ(future.info().max_attempts, 1);
  EXPECT_TRUE(future.info().earlier_attempts.empty());
}

TEST_F(ClientRetryTest, APolicyOutOfBoundsThrowsInvalidArgument) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  try {
    executor.submit(Call("square").arg(3).retry(
        RetryPolicy{.max_attempts = 1000, .retry_on = {"ValueError"}}));
    ADD_FAILURE() << "submitted";
  } catch (const RpcError& error) {
    EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(error.what()).find("retry_policy.max_attempts"),
              std::string::npos)
        << error.what();
  }
}

}  // namespace
}  // namespace futured::testing
