// Idempotent Submit over the wire: a request_id makes a retried Submit (or
// SubmitBatch item) answer the first call's future instead of running the
// task again, while the daemon keeps that future.
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "absl/time/time.h"
#include "futured/futured.h"
#include "futured/v1/executor.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_test.h"

namespace futured::testing {
namespace {

using ::futured::v1::FutureInfo;
using ::futured::v1::GetStatsResponse;
using ::futured::v1::SubmitBatchRequest;
using ::futured::v1::SubmitBatchResponse;
using ::futured::v1::SubmitRequest;

constexpr double kLongSleepSeconds = 3600;

SubmitRequest WithRequestId(SubmitRequest request, const std::string& id) {
  request.set_request_id(id);
  return request;
}

class RequestIdTest : public DaemonTest {
 protected:
  // How many calls of `function` the daemon has seen done, by any outcome.
  int64_t DoneCount(const std::string& function) {
    GetStatsResponse stats;
    EXPECT_TRUE(calls_->GetStats(&stats).ok());
    for (const auto& f : stats.functions()) {
      if (f.function() == function) {
        return f.finished() + f.failed() + f.cancelled();
      }
    }
    return 0;
  }

  int64_t FutureCount() {
    GetStatsResponse stats;
    EXPECT_TRUE(calls_->GetStats(&stats).ok());
    return stats.futures();
  }

  grpc::Status SubmitBatch(const SubmitBatchRequest& request,
                           SubmitBatchResponse* response) {
    grpc::ClientContext context;
    SetDeadline(&context);
    return calls_->stub().SubmitBatch(&context, request, response);
  }
};

TEST_F(RequestIdTest, ARetryOfAFinishedCallAnswersItsIdAndRunsNothing) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  const SubmitRequest call =
      WithRequestId(CallOf("square", {NumberValue(9)}), "retry-1");
  const std::string id = MustSubmit(call);
  EXPECT_EQ(MustResult(id).outcome().value().number_value(), 81);

  EXPECT_EQ(MustSubmit(call), id);
  EXPECT_EQ(MustSubmit(call), id);
  EXPECT_EQ(DoneCount("square"), 1) << "the task ran once";
  EXPECT_EQ(FutureCount(), 1);
  // Without a request ID every Submit is a call of its own.
  EXPECT_NE(MustSubmit(CallOf("square", {NumberValue(9)})), id);
}

TEST_F(RequestIdTest, ARetryOfARunningCallAnswersItsId) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  const SubmitRequest call =
      WithRequestId(CallOf("sleep", {NumberValue(kLongSleepSeconds)}), "slow");
  const std::string id = MustSubmit(call);
  MustAwaitState(id, futured::v1::FUTURE_STATE_RUNNING);
  EXPECT_EQ(MustSubmit(call), id);
  EXPECT_EQ(FutureCount(), 1);
  EXPECT_TRUE(MustCancel(id).cancelled());
  EXPECT_EQ(MustSubmit(call), id) << "a cancelled future is kept too";
}

TEST_F(RequestIdTest, TheSameIdForAnotherCallIsAlreadyExists) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  const std::string id =
      MustSubmit(WithRequestId(CallOf("square", {NumberValue(2)}), "mine"));
  MustResult(id);

  std::vector<SubmitRequest> others = {
      WithRequestId(CallOf("square", {NumberValue(3)}), "mine"),
      WithRequestId(CallOf("echo", {NumberValue(2)}), "mine"),
  };
  SubmitRequest with_timeout = others[0];
  with_timeout.mutable_args(0)->set_number_value(2);
  *with_timeout.mutable_timeout() = DurationProto(absl::Seconds(30));
  others.push_back(with_timeout);
  for (const SubmitRequest& other : others) {
    std::string other_id;
    grpc::Status status = calls_->Submit(other, &other_id);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS)
        << other.ShortDebugString() << ": " << StatusText(status);
    EXPECT_NE(status.error_message().find(id), std::string::npos)
        << status.error_message();
  }
  EXPECT_EQ(FutureCount(), 1);

  // The same call by keyword is the same call.
  SubmitRequest by_keyword;
  by_keyword.set_function("square");
  by_keyword.set_request_id("mine");
  (*by_keyword.mutable_kwargs()->mutable_fields())["x"].set_number_value(2);
  EXPECT_EQ(MustSubmit(by_keyword), id);
}

TEST_F(RequestIdTest, ThePoolIsPartOfTheCall) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  // The pool is part of the call: the same ID for another pool is refused.
  const std::string id =
      MustSubmit(WithRequestId(CallOf("echo", {NumberValue(1)}), "p"));
  SubmitRequest in_process =
      WithRequestId(CallOf("echo", {NumberValue(1)}), "p");
  in_process.set_pool("process");
  std::string other;
  EXPECT_EQ(calls_->Submit(in_process, &other).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  // "" and "thread" name the same pool.
  SubmitRequest named = WithRequestId(CallOf("echo", {NumberValue(1)}), "p");
  named.set_pool("thread");
  EXPECT_EQ(MustSubmit(named), id);
}

TEST_F(RequestIdTest, ReleaseFreesTheRequestId) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  const SubmitRequest call =
      WithRequestId(CallOf("echo", {StringValue("a")}), "r");
  const std::string id = MustSubmit(call);
  MustResult(id);
  futured::v1::ReleaseResponse released;
  ASSERT_TRUE(calls_->Release({id}, &released).ok());

  const std::string again = MustSubmit(call);
  EXPECT_NE(again, id);
  EXPECT_EQ(MustResult(again).outcome().value().string_value(), "a");
  EXPECT_EQ(DoneCount("echo"), 2);
  // And once released it may name a different call.
  ASSERT_TRUE(calls_->Release({again}, &released).ok());
  EXPECT_FALSE(
      MustSubmit(WithRequestId(CallOf("echo", {StringValue("b")}), "r"))
          .empty());
}

TEST_F(RequestIdTest, ExpiryFreesTheRequestId) {
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon(/*unix_socket=*/true, {"--retention=200ms"}));
  const SubmitRequest call =
      WithRequestId(CallOf("echo", {StringValue("a")}), "r");
  const std::string id = MustSubmit(call);
  MustResult(id);
  MustAwaitStats([](const GetStatsResponse& s) { return s.futures() == 0; });
  const std::string again = MustSubmit(call);
  EXPECT_NE(again, id);
  // It runs again (not answered from the expired one): two echo calls end.
  // The count is kept by a done-callback, which may come after the answer.
  MustResult(again);
  MustAwaitStats([](const GetStatsResponse& s) {
    for (const auto& f : s.functions()) {
      if (f.function() == "echo") {
        return f.finished() + f.failed() + f.cancelled() == 2;
      }
    }
    return false;
  });
  EXPECT_EQ(DoneCount("echo"), 2);
}

TEST_F(RequestIdTest, ARequestIdOver128BytesIsInvalidArgument) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  EXPECT_FALSE(MustSubmit(WithRequestId(CallOf("echo", {NumberValue(1)}),
                                        std::string(128, 'k')))
                   .empty());
  std::string id;
  grpc::Status status = calls_->Submit(
      WithRequestId(CallOf("echo", {NumberValue(1)}), std::string(129, 'k')),
      &id);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << StatusText(status);
  EXPECT_NE(status.error_message().find("request_id"), std::string::npos);
}

TEST_F(RequestIdTest, RunRefusesARequestId) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  grpc::ClientContext context;
  SetDeadline(&context);
  FutureInfo info;
  grpc::Status status = calls_->stub().Run(
      &context, WithRequestId(CallOf("echo", {NumberValue(1)}), "run"), &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << StatusText(status);
  EXPECT_EQ(DoneCount("echo"), 0);
}

TEST_F(RequestIdTest, BatchItemsAreIdempotentEachOnItsOwn) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  const std::string earlier =
      MustSubmit(WithRequestId(CallOf("echo", {NumberValue(0)}), "b0"));

  SubmitBatchRequest batch;
  *batch.add_requests() =
      WithRequestId(CallOf("echo", {NumberValue(0)}), "b0");  // retry
  *batch.add_requests() =
      WithRequestId(CallOf("echo", {NumberValue(1)}), "b1");  // new
  *batch.add_requests() =
      WithRequestId(CallOf("echo", {NumberValue(1)}), "b1");  // its retry
  *batch.add_requests() =
      WithRequestId(CallOf("echo", {NumberValue(9)}), "b0");  // reused ID
  *batch.add_requests() = CallOf("echo", {NumberValue(2)});   // no ID
  SubmitBatchResponse response;
  grpc::Status status = SubmitBatch(batch, &response);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(response.results_size(), 5);
  EXPECT_EQ(response.results(0).id(), earlier);
  EXPECT_EQ(response.results(1).code(), 0) << response.results(1).message();
  EXPECT_NE(response.results(1).id(), earlier);
  EXPECT_EQ(response.results(2).id(), response.results(1).id());
  EXPECT_EQ(response.results(3).code(),
            static_cast<int>(grpc::StatusCode::ALREADY_EXISTS));
  EXPECT_NE(response.results(3).message().find(earlier), std::string::npos);
  EXPECT_EQ(response.results(4).code(), 0);
  EXPECT_EQ(FutureCount(), 3);

  // The batch's new ID answers a later single Submit too.
  EXPECT_EQ(MustSubmit(WithRequestId(CallOf("echo", {NumberValue(1)}), "b1")),
            response.results(1).id());
}

TEST_F(RequestIdTest, RacingRetriesOverManyConnectionsMakeOneFuture) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false));
  constexpr int kClients = 8;
  constexpr int kRounds = 20;
  std::vector<std::unique_ptr<ExecutorCalls>> clients;
  for (int c = 0; c < kClients; ++c) {
    // A channel each (distinct channel arguments: distinct connections).
    grpc::ChannelArguments args;
    args.SetInt("futured.test.client", c);
    clients.push_back(std::make_unique<ExecutorCalls>(grpc::CreateCustomChannel(
        daemon_->address(), grpc::InsecureChannelCredentials(), args)));
  }
  for (int round = 0; round < kRounds; ++round) {
    const SubmitRequest call = WithRequestId(
        CallOf("sleep", {NumberValue(0.01)}), absl::StrCat("race-", round));
    std::vector<std::string> ids(kClients);
    std::vector<grpc::Status> statuses(kClients);
    absl::Barrier* barrier = new absl::Barrier(kClients);
    std::vector<std::thread> threads;
    for (int c = 0; c < kClients; ++c) {
      threads.emplace_back([&, c] {
        if (barrier->Block()) delete barrier;
        statuses[c] = clients[c]->Submit(call, &ids[c]);
      });
    }
    for (std::thread& thread : threads) thread.join();
    for (int c = 0; c < kClients; ++c) {
      ASSERT_TRUE(statuses[c].ok()) << StatusText(statuses[c]);
      EXPECT_EQ(ids[c], ids[0]) << "round " << round;
    }
  }
  EXPECT_EQ(FutureCount(), kRounds);
  MustAwaitStats([&](const GetStatsResponse& s) {
    for (const auto& f : s.functions()) {
      if (f.function() == "sleep") return f.finished() == kRounds;
    }
    return false;
  });
  EXPECT_EQ(DoneCount("sleep"), kRounds) << "each round ran its task once";
}

TEST_F(RequestIdTest, TheClientLibrarySubmitTakesARequestId) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  futured::Client client(daemon_->address());
  futured::Executor executor = client.executor("thread");
  auto first =
      executor.submit<int>(futured::Call("square").arg(6).request_id("lib-1"));
  EXPECT_EQ(first.result(), 36);
  auto retry =
      executor.submit<int>(futured::Call("square").arg(6).request_id("lib-1"));
  EXPECT_EQ(retry.id(), first.id());
  EXPECT_EQ(retry.result(), 36);
  try {
    executor.submit<int>(futured::Call("square").arg(7).request_id("lib-1"));
    ADD_FAILURE() << "another call under the same request ID was accepted";
  } catch (const futured::RpcError& e) {
    EXPECT_EQ(e.status().code(), absl::StatusCode::kAlreadyExists) << e.what();
  }
  EXPECT_EQ(DoneCount("square"), 1);
}

}  // namespace
}  // namespace futured::testing
