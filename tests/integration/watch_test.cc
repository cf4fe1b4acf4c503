// The Watch stream: futures named over time, each sent once it is done.
#include <sys/wait.h>

#include <csignal>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_test.h"
#include "tests/integration/executor_calls.h"

namespace futured::testing {
namespace {

using ::futured::v1::FutureInfo;
using ::futured::v1::WatchRequest;
using ::futured::v1::WatchResponse;

constexpr char kUnknownId[] = "00000000-0000-4000-8000-000000000000";

WatchRequest Follow(const std::vector<std::string>& ids) {
  WatchRequest request;
  for (const std::string& id : ids) request.add_ids(id);
  return request;
}

// Each test has its own daemon on a unix socket and one Watch stream on it.
class WatchTest : public DaemonTest {
 protected:
  // Starts futured with extra `flags` and opens stream_.
  void StartWatching(std::vector<std::string> flags = {}) {
    ASSERT_NO_FATAL_FAILURE(
        StartDaemon(/*unix_socket=*/true, std::move(flags)));
    SetDeadline(&context_);
    stream_ = calls_->stub().Watch(&context_);
  }

  // Ends the stream before DaemonTest stops the daemon.
  void TearDown() override {
    if (daemon_ != nullptr) {
      context_.TryCancel();
      if (stream_ != nullptr) stream_->Finish();
    }
    DaemonTest::TearDown();
  }

  // Reads messages until `count` futures have arrived; fails on stream end.
  std::vector<FutureInfo> ReadFutures(int count) {
    std::vector<FutureInfo> futures;
    WatchResponse response;
    while (static_cast<int>(futures.size()) < count) {
      if (!stream_->Read(&response)) {
        ADD_FAILURE() << "stream ended after " << futures.size() << " futures";
        break;
      }
      EXPECT_EQ(response.errors_size(), 0) << response.ShortDebugString();
      futures.insert(futures.end(), response.futures().begin(),
                     response.futures().end());
    }
    return futures;
  }

  // Half-closes and expects the stream to end OK with nothing more to read.
  void ExpectCleanEnd() {
    ASSERT_TRUE(stream_->WritesDone());
    WatchResponse extra;
    EXPECT_FALSE(stream_->Read(&extra)) << extra.ShortDebugString();
    grpc::Status status = stream_->Finish();
    stream_.reset();
    EXPECT_TRUE(status.ok()) << StatusText(status);
  }

  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<WatchRequest, WatchResponse>>
      stream_;
};

TEST_F(WatchTest, SendsADoneFutureAtOnceAndAPendingOneWhenItCompletes) {
  StartWatching();
  const std::string done = MustSubmit(CallOf("echo", {NumberValue(1)}));
  ASSERT_TRUE(calls_->AwaitState(done, v1::FUTURE_STATE_FINISHED).ok());
  const std::string pending = MustSubmit(CallOf("sleep", {NumberValue(60)}));

  ASSERT_TRUE(stream_->Write(Follow({done, pending})));
  std::vector<FutureInfo> first = ReadFutures(1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].id(), done);
  EXPECT_EQ(first[0].outcome().value().number_value(), 1);

  v1::CancelResponse cancel;
  ASSERT_TRUE(calls_->Cancel(pending, &cancel).ok());
  std::vector<FutureInfo> second = ReadFutures(1);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].id(), pending);
  EXPECT_TRUE(second[0].cancelled());
  ExpectCleanEnd();
}

TEST_F(WatchTest, BadIdsGetErrorsAndTheStreamGoesOn) {
  StartWatching();
  ASSERT_TRUE(stream_->Write(Follow({kUnknownId, ""})));
  std::vector<v1::WatchError> errors;
  WatchResponse response;
  while (errors.size() < 2 && stream_->Read(&response)) {
    errors.insert(errors.end(), response.errors().begin(),
                  response.errors().end());
  }
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].id(), kUnknownId);
  EXPECT_EQ(errors[0].code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(errors[1].code(), grpc::StatusCode::INVALID_ARGUMENT);

  const std::string id = MustSubmit(CallOf("square", {NumberValue(3)}));
  ASSERT_TRUE(stream_->Write(Follow({id})));
  std::vector<FutureInfo> futures = ReadFutures(1);
  ASSERT_EQ(futures.size(), 1u);
  EXPECT_EQ(futures[0].outcome().value().number_value(), 9);
  ExpectCleanEnd();
}

TEST_F(WatchTest, AFutureNamedTwiceWhilePendingIsSentOnce) {
  StartWatching();
  const std::string id = MustSubmit(CallOf("sleep", {NumberValue(60)}));
  ASSERT_TRUE(stream_->Write(Follow({id, id})));
  v1::CancelResponse cancel;
  ASSERT_TRUE(calls_->Cancel(id, &cancel).ok());
  std::vector<FutureInfo> futures = ReadFutures(1);
  ASSERT_EQ(futures.size(), 1u);
  ExpectCleanEnd();  // a second copy would be read here
}

TEST_F(WatchTest, ADoneFutureNamedTwiceInOneRequestIsSentOnce) {
  StartWatching();
  const std::string id = MustSubmit(CallOf("echo", {NumberValue(2)}));
  ASSERT_TRUE(calls_->AwaitState(id, v1::FUTURE_STATE_FINISHED).ok());
  ASSERT_TRUE(stream_->Write(Follow({id, id})));
  std::vector<FutureInfo> futures = ReadFutures(1);
  ASSERT_EQ(futures.size(), 1u);
  ExpectCleanEnd();  // a second copy would be read here
}

TEST_F(WatchTest, TooManyIdsInOneRequestEndTheStream) {
  StartWatching({"--max_ids_per_call=2"});
  ASSERT_TRUE(stream_->Write(Follow({kUnknownId, kUnknownId, kUnknownId})));
  WatchResponse response;
  EXPECT_FALSE(stream_->Read(&response));
  grpc::Status status = stream_->Finish();
  stream_.reset();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << StatusText(status);
}

// Shutdown cancels the running task, the stream carries its final state,
// and then ends with UNAVAILABLE (a Watch stream waits for more names, so
// only the daemon can end it). Without a journal: with one, the stop's
// cancellation is not the future's end (journal_test.cc).
TEST_F(WatchTest, ShutdownSendsTheFinalStateThenEndsTheStream) {
  StartWatching({"--state_dir=none"});
  const std::string id = MustSubmit(CallOf("sleep", {NumberValue(60)}));
  ASSERT_TRUE(stream_->Write(Follow({id})));
  ASSERT_TRUE(calls_
                  ->AwaitStats([](const v1::GetStatsResponse& stats) {
                    return stats.waiting_calls() >= 1;
                  })
                  .ok());
  absl::StatusOr<int> wait_status = daemon_->Stop(SIGTERM);
  ASSERT_TRUE(wait_status.ok()) << wait_status.status();
  EXPECT_TRUE(WIFEXITED(*wait_status) && WEXITSTATUS(*wait_status) == 0);
  daemon_.reset();

  WatchResponse response;
  ASSERT_TRUE(stream_->Read(&response));
  ASSERT_EQ(response.futures_size(), 1) << response.DebugString();
  EXPECT_EQ(response.futures(0).id(), id);
  EXPECT_EQ(response.futures(0).state(), v1::FUTURE_STATE_CANCELLED);
  EXPECT_FALSE(stream_->Read(&response)) << response.DebugString();
  grpc::Status status = stream_->Finish();
  stream_.reset();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << StatusText(status);
}

}  // namespace
}  // namespace futured::testing
