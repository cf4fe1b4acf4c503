// Requests the daemon cannot use, sent as raw bytes or with out-of-range
// fields: each is INVALID_ARGUMENT with a message saying what is wrong
// (gRPC 1.51 alone answers a request protobuf refuses with UNIMPLEMENTED
// and no message), and the daemon goes on serving.

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "futured/v1/executor.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_test.h"
#include "tests/integration/raw_stream_call.h"

namespace futured::testing {
namespace {

using ::futured::v1::SubmitRequest;
using ::google::protobuf::Duration;

constexpr absl::Duration kDeadline = absl::Seconds(30);
constexpr int64_t kMaxDurationSeconds = 315576000000;

// Sends `bytes` unchanged as the one request message of `method` (e.g.
// "/futured.v1.Executor/Submit"), reads whatever comes back and returns
// the call's status. Unary and server-streaming methods alike.
grpc::Status RawCall(const std::shared_ptr<grpc::Channel>& channel,
                     const std::string& method, const std::string& bytes) {
  grpc::GenericStub stub(channel);
  grpc::Slice slice(bytes);
  constexpr int kMaxReplies = 1000;
  return RawStreamCall(stub, method, grpc::ByteBuffer(&slice, 1), kDeadline,
                       kMaxReplies)
      .status;
}

std::string Serialized(const google::protobuf::Message& message) {
  std::string bytes;
  EXPECT_TRUE(message.SerializeToString(&bytes));
  return bytes;
}

// `bytes` with its only `from` replaced by `to` (of the same length).
std::string Replaced(std::string bytes, const std::string& from,
                     const std::string& to) {
  const size_t at = bytes.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) bytes.replace(at, from.size(), to);
  return bytes;
}

void ExpectInvalidArgument(const grpc::Status& status,
                           const std::vector<std::string>& says) {
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << StatusText(status);
  for (const std::string& part : says) {
    EXPECT_TRUE(absl::StrContains(status.error_message(), part))
        << "\"" << part << "\" not in: " << StatusText(status);
  }
}

Duration Seconds(int64_t seconds) {
  Duration duration;
  duration.set_seconds(seconds);
  return duration;
}

class BadRequestTest : public DaemonTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  }
  grpc::Status Raw(const std::string& method, const std::string& bytes) {
    return RawCall(daemon_->NewChannel(),
                   absl::StrCat("/futured.v1.Executor/", method), bytes);
  }
  // The daemon still answers a good call.
  void ExpectServing() {
    EXPECT_EQ(MustResult(MustSubmit(CallOf("square", {NumberValue(3)})))
                  .outcome()
                  .value()
                  .number_value(),
              9);
  }
};

TEST_F(BadRequestTest, GarbageBytesAreInvalidArgumentInEveryMethod) {
  // 0xff...: a tag whose varint never ends.
  const std::string garbage(16, '\xff');
  for (const auto& [method, type] :
       std::vector<std::pair<std::string, std::string>>{
           {"Submit", "SubmitRequest"},
           {"SubmitBatch", "SubmitBatchRequest"},
           {"Run", "SubmitRequest"},
           {"GetFuture", "GetFutureRequest"},
           {"Result", "ResultRequest"},
           {"Cancel", "CancelRequest"},
           {"AsCompleted", "AsCompletedRequest"},
           {"Wait", "WaitRequest"},
           {"Map", "MapRequest"},
           {"Release", "ReleaseRequest"},
           {"ListFunctions", "ListFunctionsRequest"},
           {"GetStats", "GetStatsRequest"},
           {"FollowProgress", "FollowProgressRequest"}}) {
    SCOPED_TRACE(method);
    ExpectInvalidArgument(
        Raw(method, garbage),
        {absl::StrCat("not a valid futured.v1.", type), "malformed"});
  }
  ExpectServing();
}

TEST_F(BadRequestTest, InvalidUtf8IsInvalidArgumentNamingTheField) {
  const std::string submit =
      Replaced(Serialized(CallOf("square", {NumberValue(3)})), "square",
               "squ\xff\xfe"
               "e");
  ExpectInvalidArgument(Raw("Submit", submit),
                        {"invalid UTF-8", "futured.v1.SubmitRequest.function"});

  // Deep inside an argument: a string in a list in an object.
  google::protobuf::Value object;
  (*object.mutable_struct_value()->mutable_fields())["key"] =
      ListValue({StringValue("abcdef")});
  const std::string nested =
      Replaced(Serialized(CallOf("echo", {object})), "abcdef", "abc\xc0\xafx");
  ExpectInvalidArgument(
      Raw("Submit", nested),
      {"invalid UTF-8", "google.protobuf.Value.string_value"});

  // A server-streaming method.
  futured::v1::AsCompletedRequest as_completed;
  as_completed.add_ids("abcdef");
  ExpectInvalidArgument(
      Raw("AsCompleted",
          Replaced(Serialized(as_completed), "abcdef", "ab\xed\xa0\x80x")),
      {"invalid UTF-8", "futured.v1.AsCompletedRequest.ids"});
  ExpectServing();
}

TEST_F(BadRequestTest, DurationsOutOfProtobufsRangeAreInvalidArgument) {
  for (const int64_t seconds :
       {kMaxDurationSeconds + 1, std::numeric_limits<int64_t>::max(),
        std::numeric_limits<int64_t>::min()}) {
    SCOPED_TRACE(seconds);
    const std::vector<std::string> says = {"timeout is out of range",
                                           "315576000000"};
    SubmitRequest submit = CallOf("square", {NumberValue(3)});
    *submit.mutable_timeout() = Seconds(seconds);
    std::string id;
    ExpectInvalidArgument(calls_->Submit(submit, &id), says);
    ExpectInvalidArgument(Raw("Run", Serialized(submit)), says);

    futured::v1::SubmitBatchRequest batch;
    *batch.add_requests() = submit;
    futured::v1::SubmitBatchResponse batched;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kDeadline));
    grpc::Status status = calls_->stub().SubmitBatch(&context, batch, &batched);
    ASSERT_TRUE(status.ok()) << StatusText(status);
    ASSERT_EQ(batched.results_size(), 1);
    EXPECT_EQ(batched.results(0).code(),
              static_cast<int>(grpc::StatusCode::INVALID_ARGUMENT));
    EXPECT_TRUE(absl::StrContains(batched.results(0).message(),
                                  "timeout is out of range"))
        << batched.results(0).message();

    const std::string done = MustSubmit(CallOf("square", {NumberValue(2)}));
    futured::v1::ResultRequest result;
    result.set_id(done);
    *result.mutable_timeout() = Seconds(seconds);
    ExpectInvalidArgument(Raw("Result", Serialized(result)), says);
    futured::v1::WaitRequest wait;
    wait.add_ids(done);
    *wait.mutable_timeout() = Seconds(seconds);
    ExpectInvalidArgument(Raw("Wait", Serialized(wait)), says);
    futured::v1::AsCompletedRequest as_completed;
    as_completed.add_ids(done);
    *as_completed.mutable_timeout() = Seconds(seconds);
    ExpectInvalidArgument(Raw("AsCompleted", Serialized(as_completed)), says);
    futured::v1::MapRequest map;
    map.set_function("square");
    *map.add_inputs() = NumberValue(1);
    *map.mutable_timeout() = Seconds(seconds);
    ExpectInvalidArgument(Raw("Map", Serialized(map)), says);
    futured::v1::FollowProgressRequest follow;
    follow.set_id(done);
    *follow.mutable_timeout() = Seconds(seconds);
    ExpectInvalidArgument(Raw("FollowProgress", Serialized(follow)), says);
  }

  // The largest Duration is a deadline like any other.
  SubmitRequest longest = CallOf("square", {NumberValue(5)});
  *longest.mutable_timeout() = Seconds(kMaxDurationSeconds);
  EXPECT_EQ(MustResult(MustSubmit(longest)).outcome().value().number_value(),
            25);
  ExpectServing();
}

}  // namespace
}  // namespace futured::testing
