// Limits that hold under abuse: argument depth and size (--max_arg_depth,
// --max_arg_bytes) in Submit, SubmitBatch items, Map inputs and Run;
// protobuf's own parse depth; --max_message_bytes on what the daemon sends.
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "futured/v1/executor.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_test.h"

namespace futured::testing {
namespace {

using ::futured::v1::FutureInfo;
using ::futured::v1::MapRequest;
using ::futured::v1::SubmitBatchRequest;
using ::futured::v1::SubmitBatchResponse;
using ::futured::v1::SubmitRequest;
using ::google::protobuf::Value;

// [[...[1]...]]: `depth` lists around a number.
Value Nested(int depth) {
  Value value = NumberValue(1);
  for (int i = 0; i < depth; ++i) value = ListValue({value});
  return value;
}

// {"a":{"a":...{"a":1}...}}: `depth` objects around a number.
Value NestedObject(int depth) {
  Value value = NumberValue(1);
  for (int i = 0; i < depth; ++i) {
    Value outer;
    (*outer.mutable_struct_value()->mutable_fields())["a"] = value;
    value = std::move(outer);
  }
  return value;
}

int DepthOf(const Value& value) {
  return value.has_list_value() ? 1 + DepthOf(value.list_value().values(0)) : 0;
}

class LimitsTest : public DaemonTest {
 protected:
  grpc::Status Run(const SubmitRequest& request, FutureInfo* info) {
    grpc::ClientContext context;
    SetDeadline(&context);
    return calls_->stub().Run(&context, request, info);
  }
  grpc::Status SubmitBatch(const SubmitBatchRequest& request,
                           SubmitBatchResponse* response) {
    grpc::ClientContext context;
    SetDeadline(&context);
    return calls_->stub().SubmitBatch(&context, request, response);
  }
  // Every way a call reaches the daemon, each expected to fail with `code`
  // and a message naming `flag`: Submit, a SubmitBatch item, Run, Map.
  void ExpectRefusedEverywhere(const Value& arg, grpc::StatusCode code,
                               const std::string& flag) {
    const SubmitRequest call = CallOf("echo", {arg});
    std::string id;
    grpc::Status status = calls_->Submit(call, &id);
    EXPECT_EQ(status.error_code(), code) << "Submit " << StatusText(status);
    EXPECT_NE(status.error_message().find(flag), std::string::npos)
        << status.error_message();

    SubmitBatchRequest batch;
    *batch.add_requests() = CallOf("echo", {NumberValue(1)});
    *batch.add_requests() = call;
    SubmitBatchResponse response;
    status = SubmitBatch(batch, &response);
    ASSERT_TRUE(status.ok()) << StatusText(status);
    ASSERT_EQ(response.results_size(), 2);
    EXPECT_EQ(response.results(0).code(), 0) << "the good item is queued";
    EXPECT_EQ(response.results(1).code(), static_cast<int>(code));
    EXPECT_NE(response.results(1).message().find(flag), std::string::npos);

    FutureInfo info;
    status = Run(call, &info);
    EXPECT_EQ(status.error_code(), code) << "Run " << StatusText(status);

    MapRequest map;
    map.set_function("echo");
    *map.add_inputs() = NumberValue(1);
    *map.add_inputs() = arg;
    std::vector<futured::v1::MapItem> items;
    status = calls_->Map(map, &items);
    EXPECT_EQ(status.error_code(), code) << "Map " << StatusText(status);
    EXPECT_NE(status.error_message().find("input 1"), std::string::npos)
        << status.error_message();
  }
};

TEST_F(LimitsTest, ArgumentsDeeperThanMaxArgDepthAreInvalidArgument) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  // The default, 32, is accepted in both pools, and the value comes back.
  for (const std::string pool : {"thread", "process"}) {
    SubmitRequest call = CallOf("echo", {Nested(32)});
    call.set_pool(pool);
    FutureInfo info = MustResult(MustSubmit(call));
    EXPECT_EQ(DepthOf(info.outcome().value()), 32) << pool;
  }
  ExpectRefusedEverywhere(Nested(33), grpc::StatusCode::INVALID_ARGUMENT,
                          "--max_arg_depth");
  // A keyword argument counts as much as a positional one.
  SubmitRequest by_keyword = CallOf("echo");
  (*by_keyword.mutable_kwargs()->mutable_fields())["value"] = Nested(33);
  std::string id;
  EXPECT_EQ(calls_->Submit(by_keyword, &id).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(LimitsTest, MaxArgDepthIsAFlag) {
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon(/*unix_socket=*/true, {"--max_arg_depth=3"}));
  MustResult(MustSubmit(CallOf("echo", {Nested(3)})));
  ExpectRefusedEverywhere(Nested(4), grpc::StatusCode::INVALID_ARGUMENT,
                          "--max_arg_depth");
}

TEST_F(LimitsTest, ProtobufsDepthLimitIsInvalidArgumentSayingSo) {
  // protobuf parses at most 100 nested messages: a list level is two (Value,
  // ListValue), so a Submit argument 49 lists deep parses and 50 does not.
  // With the depth limit raised out of the way, the parser is what refuses.
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon(/*unix_socket=*/true, {"--max_arg_depth=1000"}));
  SubmitRequest parses = CallOf("sleep", {NumberValue(0)});
  (*parses.mutable_kwargs()->mutable_fields())["ignored"] = Nested(48);
  std::string id;
  grpc::Status status = calls_->Submit(parses, &id);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << "parsed, then refused by binding (no such parameter): "
      << StatusText(status);
  EXPECT_NE(status.error_message().find("ignored"), std::string::npos)
      << status.error_message();

  // 49 lists: parsed, run in a worker process (whose frames nest it
  // deeper still) and answered.
  SubmitRequest deepest = CallOf("echo", {Nested(49)});
  deepest.set_pool("process");
  EXPECT_EQ(DepthOf(MustResult(MustSubmit(deepest)).outcome().value()), 49);
  // 50: the parser refuses it, and the daemon says so.
  for (int depth : {50, 60}) {
    status = calls_->Submit(CallOf("echo", {Nested(depth)}), &id);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << depth << ": " << StatusText(status);
    EXPECT_NE(status.error_message().find("nested more than 100 deep"),
              std::string::npos)
        << depth << ": " << StatusText(status);
  }
  // Objects: a level is three (Value, Struct, its map entry), so 33 parse
  // and 34 do not.
  status = calls_->Submit(CallOf("echo", {NestedObject(33)}), &id);
  EXPECT_TRUE(status.ok()) << StatusText(status);
  status = calls_->Submit(CallOf("echo", {NestedObject(34)}), &id);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << StatusText(status);
  EXPECT_NE(status.error_message().find("nested more than 100 deep"),
            std::string::npos)
      << StatusText(status);
  // And it still serves.
  EXPECT_EQ(MustResult(MustSubmit(CallOf("square", {NumberValue(3)})))
                .outcome()
                .value()
                .number_value(),
            9);
}

TEST_F(LimitsTest, ArgumentsLargerThanMaxArgBytesAreResourceExhausted) {
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon(/*unix_socket=*/true, {"--max_arg_bytes=1000"}));
  MustResult(MustSubmit(CallOf("echo", {StringValue(std::string(990, 'x'))})));
  ExpectRefusedEverywhere(StringValue(std::string(1000, 'x')),
                          grpc::StatusCode::RESOURCE_EXHAUSTED,
                          "--max_arg_bytes");
  // Positional and keyword arguments add up.
  SubmitRequest both = CallOf("fail", {StringValue(std::string(600, 'x'))});
  (*both.mutable_kwargs()->mutable_fields())["message"] =
      StringValue(std::string(600, 'y'));
  std::string id;
  EXPECT_EQ(calls_->Submit(both, &id).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(LimitsTest, AnAnswerOverMaxMessageBytesIsNotSent) {
  // --max_message_bytes bounds what the daemon sends as well as what it
  // receives: factorial(5000) has 16,326 digits.
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon(/*unix_socket=*/true, {"--max_message_bytes=8192"}));
  const std::string id = MustSubmit(CallOf("factorial", {NumberValue(5000)}));
  futured::v1::ResultRequest request;
  request.set_id(id);
  FutureInfo info;
  grpc::Status status = calls_->Result(request, &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << StatusText(status);
  // The future is fine, and a small answer still goes out.
  futured::v1::WaitRequest wait;
  wait.add_ids(id);
  futured::v1::WaitResponse waited;
  ASSERT_TRUE(calls_->Wait(wait, &waited).ok());
  EXPECT_EQ(waited.done_size(), 1);
  EXPECT_EQ(MustResult(MustSubmit(CallOf("factorial", {NumberValue(10)})))
                .outcome()
                .value()
                .string_value(),
            "3628800");
}

}  // namespace
}  // namespace futured::testing
