// The client library over the batched calls: Executor::submit_batch
// (SubmitBatch) and Executor::map (Map calls of a chunk of inputs each).
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "futured/futured.h"
#include "gtest/gtest.h"
#include "tests/integration/client_fixture.h"

namespace futured::testing {
namespace {

TEST_F(ClientTest, SubmitBatchReturnsAFuturePerCallInOrder) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  std::vector<Call> calls;
  for (int i = 0; i < 2500; ++i) calls.push_back(Call("square").arg(i));
  std::vector<Future<int>> futures = executor.submit_batch<int>(calls);
  ASSERT_EQ(futures.size(), calls.size());
  for (int i = 0; i < 2500; ++i) EXPECT_EQ(futures[i].result(), i * i) << i;
}

TEST_F(ClientTest, SubmitBatchGivesARefusedCallAFutureThatThrowsItsError) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  std::vector<Future<int>> futures = executor.submit_batch<int>(
      {Call("square").arg(3), Call("no_such_fn"), Call("square").arg("x"),
       Call("square").arg(4)});
  ASSERT_EQ(futures.size(), 4u);
  EXPECT_EQ(futures[0].result(), 9);
  EXPECT_EQ(futures[3].result(), 16);
  for (auto [index, code] :
       {std::pair{1, absl::StatusCode::kNotFound},
        std::pair{2, absl::StatusCode::kInvalidArgument}}) {
    EXPECT_TRUE(futures[index].id().empty());
    // As for any future the daemon does not know: every question throws.
    EXPECT_THROW((void)futures[index].done(), RpcError);
    try {
      (void)futures[index].result();
      ADD_FAILURE() << index << " did not throw";
    } catch (const RpcError& e) {
      EXPECT_EQ(e.code(), code) << e.what();
    }
  }
  // The executor waits for the good ones only.
  executor.shutdown();
}

TEST_F(ClientTest, SubmitBatchAfterShutdownThrows) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  executor.shutdown();
  EXPECT_THROW(executor.submit_batch({Call("echo").arg(1)}), Error);
}

TEST_F(ClientTest, MapOverManyChunksKeepsInputOrderInBothPools) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  for (const std::string pool : {"thread", "process"}) {
    Executor executor = client_->executor(pool);
    std::vector<int> inputs(3000);
    for (int i = 0; i < 3000; ++i) inputs[i] = i;
    // buffersize 64: Map calls of 32 inputs, two in flight.
    int next = 0;
    for (int v : executor.map<int>("echo", inputs, {.buffersize = 64})) {
      ASSERT_EQ(v, next) << pool;
      ++next;
    }
    EXPECT_EQ(next, 3000) << pool;
  }
}

TEST_F(ClientTest, MapRaisesAnErrorInALaterChunkAtItsPosition) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  std::vector<double> inputs(100, 2.0);
  inputs[77] = 1e200;  // square overflows
  int yielded = 0;
  try {
    for (double d : executor.map<double>("square", inputs, {.buffersize = 8})) {
      EXPECT_EQ(d, 4.0);
      ++yielded;
    }
    ADD_FAILURE() << "map did not raise";
  } catch (const TaskError& e) {
    EXPECT_EQ(e.type(), "OverflowError");
  }
  EXPECT_EQ(yielded, 77);
}

TEST_F(ClientTest, MapOfAnUnknownFunctionThrowsRpcErrorNotFound) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  try {
    for (const Value& v : executor.map("no_such_fn", {1, 2})) (void)v;
    ADD_FAILURE() << "map did not throw";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.code(), absl::StatusCode::kNotFound) << e.what();
  }
}

TEST_F(ClientTest, MapWithBuffersizeOneRunsOneInputAtATime) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  std::vector<int> squares;
  for (int s : executor.map<int>("square", {1, 2, 3}, {.buffersize = 1})) {
    squares.push_back(s);
  }
  EXPECT_EQ(squares, (std::vector<int>{1, 4, 9}));
}

}  // namespace
}  // namespace futured::testing
