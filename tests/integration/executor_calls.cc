#include "tests/integration/executor_calls.h"

#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace futured::testing {
namespace {

using ::futured::v1::FutureInfo;
using ::futured::v1::FutureState;
using ::futured::v1::GetStatsResponse;

constexpr absl::Duration kPollInterval = absl::Milliseconds(10);

absl::Status ToAbsl(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

}  // namespace

ExecutorCalls::ExecutorCalls(std::shared_ptr<grpc::Channel> channel)
    : stub_(futured::v1::Executor::NewStub(std::move(channel))) {}

grpc::Status ExecutorCalls::Submit(const futured::v1::SubmitRequest& request,
                                   std::string* id) {
  grpc::ClientContext context;
  SetDeadline(&context);
  futured::v1::SubmitResponse response;
  grpc::Status status = stub_->Submit(&context, request, &response);
  *id = response.id();
  return status;
}

grpc::Status ExecutorCalls::GetFuture(absl::string_view id, FutureInfo* info) {
  grpc::ClientContext context;
  SetDeadline(&context);
  futured::v1::GetFutureRequest request;
  request.set_id(std::string(id));
  return stub_->GetFuture(&context, request, info);
}

grpc::Status ExecutorCalls::Result(const futured::v1::ResultRequest& request,
                                   FutureInfo* info, absl::Duration deadline) {
  grpc::ClientContext context;
  SetDeadline(&context, deadline);
  return stub_->Result(&context, request, info);
}

grpc::Status ExecutorCalls::Cancel(absl::string_view id,
                                   futured::v1::CancelResponse* response) {
  futured::v1::CancelRequest request;
  request.set_id(std::string(id));
  return Cancel(request, response);
}

grpc::Status ExecutorCalls::Cancel(const futured::v1::CancelRequest& request,
                                   futured::v1::CancelResponse* response) {
  grpc::ClientContext context;
  SetDeadline(&context);
  return stub_->Cancel(&context, request, response);
}

grpc::Status ExecutorCalls::AsCompleted(
    const futured::v1::AsCompletedRequest& request,
    std::vector<FutureInfo>* futures) {
  grpc::ClientContext context;
  SetDeadline(&context);
  std::unique_ptr<grpc::ClientReader<futured::v1::AsCompletedResponse>> reader =
      stub_->AsCompleted(&context, request);
  futured::v1::AsCompletedResponse response;
  while (reader->Read(&response)) {
    for (const FutureInfo& info : response.futures()) futures->push_back(info);
  }
  return reader->Finish();
}

grpc::Status ExecutorCalls::Wait(const futured::v1::WaitRequest& request,
                                 futured::v1::WaitResponse* response) {
  grpc::ClientContext context;
  SetDeadline(&context);
  return stub_->Wait(&context, request, response);
}

grpc::Status ExecutorCalls::Map(const futured::v1::MapRequest& request,
                                std::vector<futured::v1::MapItem>* items) {
  grpc::ClientContext context;
  SetDeadline(&context);
  std::unique_ptr<grpc::ClientReader<futured::v1::MapResponse>> reader =
      stub_->Map(&context, request);
  futured::v1::MapResponse response;
  while (reader->Read(&response)) {
    for (const futured::v1::MapItem& item : response.items()) {
      items->push_back(item);
    }
  }
  return reader->Finish();
}

grpc::Status ExecutorCalls::Release(const std::vector<std::string>& ids,
                                    futured::v1::ReleaseResponse* response) {
  grpc::ClientContext context;
  SetDeadline(&context);
  futured::v1::ReleaseRequest request;
  for (const std::string& id : ids) request.add_ids(id);
  return stub_->Release(&context, request, response);
}

grpc::Status ExecutorCalls::ListFunctions(
    futured::v1::ListFunctionsResponse* response) {
  grpc::ClientContext context;
  SetDeadline(&context);
  return stub_->ListFunctions(&context, futured::v1::ListFunctionsRequest(),
                              response);
}

grpc::Status ExecutorCalls::GetStats(GetStatsResponse* response) {
  grpc::ClientContext context;
  SetDeadline(&context);
  return stub_->GetStats(&context, futured::v1::GetStatsRequest(), response);
}

absl::StatusOr<FutureInfo> ExecutorCalls::AwaitState(absl::string_view id,
                                                     FutureState state,
                                                     absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  FutureInfo info;
  // Bounded by count as well as by time.
  const int64_t max_polls = timeout / kPollInterval + 1;
  for (int64_t i = 0; i < max_polls; ++i) {
    info.Clear();
    grpc::Status status = GetFuture(id, &info);
    if (!status.ok()) return ToAbsl(status);
    if (info.state() == state) return info;
    if (absl::Now() >= deadline) break;
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(kPollInterval));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "future ", id, " not in state ", futured::v1::FutureState_Name(state),
      " after ", absl::FormatDuration(timeout), "; last state ",
      futured::v1::FutureState_Name(info.state())));
}

absl::StatusOr<GetStatsResponse> ExecutorCalls::AwaitStats(
    const std::function<bool(const GetStatsResponse&)>& condition,
    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  GetStatsResponse stats;
  const int64_t max_polls = timeout / kPollInterval + 1;
  for (int64_t i = 0; i < max_polls; ++i) {
    stats.Clear();
    grpc::Status status = GetStats(&stats);
    if (!status.ok()) return ToAbsl(status);
    if (condition(stats)) return stats;
    if (absl::Now() >= deadline) break;
    std::this_thread::sleep_for(absl::ToChronoMilliseconds(kPollInterval));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "stats condition not met after ", absl::FormatDuration(timeout),
      "; last stats: ", stats.ShortDebugString()));
}

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

std::string StatusText(const grpc::Status& status) {
  return ToAbsl(status).ToString();
}

google::protobuf::Value NumberValue(double number) {
  google::protobuf::Value value;
  value.set_number_value(number);
  return value;
}

google::protobuf::Value StringValue(absl::string_view text) {
  google::protobuf::Value value;
  value.set_string_value(std::string(text));
  return value;
}

google::protobuf::Value ListValue(std::vector<google::protobuf::Value> items) {
  google::protobuf::Value value;
  for (google::protobuf::Value& item : items) {
    *value.mutable_list_value()->add_values() = std::move(item);
  }
  // An empty list is still a list.
  value.mutable_list_value();
  return value;
}

google::protobuf::Duration DurationProto(absl::Duration duration) {
  google::protobuf::Duration proto;
  const int64_t seconds =
      absl::IDivDuration(duration, absl::Seconds(1), &duration);
  proto.set_seconds(seconds);
  proto.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(duration)));
  return proto;
}

absl::Time TimeFromProto(const google::protobuf::Timestamp& timestamp) {
  if (timestamp.seconds() == 0 && timestamp.nanos() == 0) {
    return absl::InfinitePast();
  }
  return absl::FromUnixSeconds(timestamp.seconds()) +
         absl::Nanoseconds(timestamp.nanos());
}

futured::v1::SubmitRequest CallOf(absl::string_view function,
                                  std::vector<google::protobuf::Value> args) {
  futured::v1::SubmitRequest request;
  request.set_function(std::string(function));
  for (google::protobuf::Value& arg : args) {
    *request.add_args() = std::move(arg);
  }
  return request;
}

}  // namespace futured::testing
