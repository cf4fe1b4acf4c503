#include "daemon_commands.h"

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "command_context.h"
#include "exit_code.h"
#include "futured/channel.h"
#include "futured/errors.h"
#include "futured/info.h"
#include "google/protobuf/util/json_util.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace futured::ctl {

using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

ExitCode Functions(const CommandContext& context) {
  for (const FunctionInfo& function : context.client.functions()) {
    context.PrintLine(function.json);
  }
  return ExitCode::kOk;
}

ExitCode Stats(const CommandContext& context) {
  context.PrintLine(context.client.stats().json);
  return ExitCode::kOk;
}

ExitCode Health(const CommandContext& context, const std::string& service) {
  // The client library has no health check: the standard service's stub,
  // on a channel with the client's own credentials (TLS).
  std::unique_ptr<grpc::health::v1::Health::Stub> stub =
      grpc::health::v1::Health::NewStub(
          NewChannel(context.client.target(), context.client_options));
  grpc::ClientContext call;
  call.set_deadline(absl::ToChronoTime(absl::Now() + context.call_timeout));
  HealthCheckRequest request;
  request.set_service(service);
  HealthCheckResponse response;
  const grpc::Status status = stub->Check(&call, request, &response);
  if (!status.ok()) {
    throw RpcError(
        absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                     status.error_message()));
  }
  google::protobuf::util::JsonPrintOptions options;
  // UNKNOWN (0) would otherwise print as {}.
  options.always_print_primitive_fields = true;
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(response, &json, options);
  context.PrintLine(json);
  return response.status() == HealthCheckResponse::SERVING
             ? ExitCode::kOk
             : ExitCode::kUnreachable;
}

}  // namespace futured::ctl
