// The Run call (submit and wait in one round trip) and the client's
// Executor::run over it.
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "futured/futured.h"
#include "futured/v1/executor.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/client_fixture.h"

namespace futured::testing {
namespace {

v1::SubmitRequest Request(const std::string& function, double arg) {
  v1::SubmitRequest request;
  request.set_function(function);
  request.add_args()->set_number_value(arg);
  return request;
}

class RunTest : public ClientTest {
 protected:
  grpc::Status Run(const v1::SubmitRequest& request, v1::FutureInfo* info,
                   absl::Duration deadline = absl::Seconds(30)) {
    auto stub = v1::Executor::NewStub(daemon_->NewChannel());
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
    return stub->Run(&context, request, info);
  }
};

TEST_F(RunTest, AnswersTheDoneFutureAndKeepsNothing) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  v1::FutureInfo info;
  grpc::Status status = Run(Request("square", 7), &info);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(info.state(), v1::FUTURE_STATE_FINISHED);
  EXPECT_TRUE(info.done());
  EXPECT_EQ(info.outcome().value().number_value(), 49);
  EXPECT_EQ(info.function(), "square");
  EXPECT_TRUE(info.has_end_time());
  EXPECT_EQ(client_->stats().futures, 0);
}

TEST_F(RunTest, ATaskThatRaisesIsAnOkCallWithItsError) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  v1::SubmitRequest request;
  request.set_function("fail");
  request.add_args()->set_string_value("KeyError");
  request.add_args()->set_string_value("k");
  request.set_pool("process");
  v1::FutureInfo info;
  grpc::Status status = Run(request, &info);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(info.outcome().error().type(), "KeyError");
  EXPECT_EQ(info.pool(), "process");
}

TEST_F(RunTest, BadRequestsGetSubmitsCodes) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  v1::FutureInfo info;
  EXPECT_EQ(Run(Request("no_such_fn", 1), &info).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::SubmitRequest bad_args;
  bad_args.set_function("square");
  bad_args.add_args()->set_string_value("x");
  EXPECT_EQ(Run(bad_args, &info).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(RunTest, ACallThatEndsFirstCancelsItsTask) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--threads=1"}));
  v1::FutureInfo info;
  grpc::Status status =
      Run(Request("sleep", kLongSleepSeconds), &info, absl::Milliseconds(300));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  // The sleep is cancelled: the one worker is free again.
  ASSERT_TRUE(PollUntil([&] {
    PoolStats pool = Pool();
    return pool.running == 0 && pool.queued == 0;
  })) << "the call's task was not cancelled";
  EXPECT_EQ(client_->executor().run<int>("square", 3), 9);
}

TEST_F(RunTest, ExecutorRunReturnsTheResultOrThrowsTheTasksError) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  Executor executor = client_->executor();
  EXPECT_EQ(executor.run<int>("square", 12), 144);
  EXPECT_EQ(executor.run<std::string>(
                Call("simulate_download").arg("http://a").kwarg("seconds", 0)),
            "Content from http://a");
  try {
    executor.run("fail", "ValueError", "bad");
    ADD_FAILURE() << "run did not throw";
  } catch (const TaskError& e) {
    EXPECT_EQ(e.type(), "ValueError");
    EXPECT_EQ(e.message(), "bad");
  }
  EXPECT_THROW(executor.run("no_such_fn"), RpcError);
  executor.shutdown();
  EXPECT_THROW(executor.run("echo", 1), Error);
}

}  // namespace
}  // namespace futured::testing
