#include "future_commands.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "command_context.h"
#include "exit_code.h"
#include "futured/errors.h"
#include "futured/future.h"
#include "futured/json.h"
#include "futured/v1/executor.grpc.pb.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"
#include "grpcpp/grpcpp.h"
#include "json_args.h"

namespace futured::ctl {

ExitCode Submit(const CommandContext& context, const SubmitArgs& args) {
  v1::SubmitRequest request;
  request.set_function(args.function);
  for (Value& arg : ParseJsonList(args.args_json, "ARGS")) {
    *request.add_args() = std::move(arg);
  }
  *request.mutable_kwargs() = ParseJsonObject(args.kwargs_json, "--kwargs");
  request.set_pool(args.pool);
  if (args.task_timeout.has_value() &&
      *args.task_timeout != absl::InfiniteDuration()) {
    *request.mutable_timeout() =
        google::protobuf::util::TimeUtil::NanosecondsToDuration(
            absl::ToInt64Nanoseconds(*args.task_timeout));
  }
  // The library's Executor waits for its futures when it goes, as Python's
  // `with` block does; a command that submits and exits must not, so this
  // one call uses the generated stub.
  std::unique_ptr<v1::Executor::Stub> stub =
      v1::Executor::NewStub(grpc::CreateChannel(
          context.client.target(), grpc::InsecureChannelCredentials()));
  grpc::ClientContext call;
  call.set_deadline(absl::ToChronoTime(absl::Now() + context.call_timeout));
  v1::SubmitResponse response;
  const grpc::Status status = stub->Submit(&call, request, &response);
  if (!status.ok()) {
    throw RpcError(
        absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                     status.error_message()));
  }
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(response, &json);
  context.PrintLine(json);
  return ExitCode::kOk;
}

ExitCode Status(const CommandContext& context,
                const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    context.PrintLine(context.client.future(id).info().json);
  }
  return ExitCode::kOk;
}

ExitCode Result(const CommandContext& context, const std::string& id) {
  const Future<> future = context.client.future(id);
  ExitCode code = ExitCode::kOk;
  try {
    if (future.exception(context.wait_timeout).has_value()) {
      code = ExitCode::kTaskFailed;
    }
  } catch (const CancelledError&) {
    code = ExitCode::kCancelled;
  }
  // Done and seen: the snapshot makes no call.
  context.PrintLine(future.info().json);
  return code;
}

ExitCode Cancel(const CommandContext& context,
                const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    const Future<> future = context.client.future(id);
    const bool cancelled = future.cancel();
    context.PrintLine(
        absl::StrCat("{\"cancelled\":", cancelled ? "true" : "false",
                     ",\"future\":", future.info().json, "}"));
  }
  return ExitCode::kOk;
}

ExitCode Release(const CommandContext& context,
                 const std::vector<std::string>& ids) {
  const int64_t released = context.client.release(ids);
  // int64 is a JSON string in proto3's mapping, as grpcurl prints it.
  context.PrintLine(absl::StrCat("{\"released\":\"", released, "\"}"));
  return ExitCode::kOk;
}

}  // namespace futured::ctl
