// Streams that end at their timeout while their futures go on: a future that
// completes right after the stream ended must not reach the finished stream.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/integration/daemon_test.h"

namespace futured::testing {
namespace {

constexpr int kRounds = 40;

class StreamTimeoutTest : public DaemonTest {};

TEST_F(StreamTimeoutTest, AFutureDoneJustAfterAsCompletedTimedOutIsNotSent) {
  StartDaemon(/*unix_socket=*/true);
  for (int round = 0; round < kRounds; ++round) {
    const std::string id = MustSubmit(CallOf("sleep", {NumberValue(60)}));
    v1::AsCompletedRequest request;
    request.add_ids(id);
    *request.mutable_timeout() = DurationProto(absl::Milliseconds(1));
    std::vector<v1::FutureInfo> futures;
    grpc::Status status = calls_->AsCompleted(request, &futures);
    ASSERT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
        << "round " << round << ": " << StatusText(status);
    EXPECT_TRUE(futures.empty());
    MustCancel(id);  // completes the future while the call may still be ending
  }
  // The daemon survived every round and still answers.
  v1::GetStatsResponse stats;
  ASSERT_TRUE(calls_->GetStats(&stats).ok());
}

}  // namespace
}  // namespace futured::testing
