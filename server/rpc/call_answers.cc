#include "server/rpc/call_answers.h"

#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace futured::server::rpc {

void LogRequest(grpc::CallbackServerContext* context, absl::string_view method,
                absl::string_view principal, absl::string_view detail) {
  if (!LogEnabled(LogLevel::kDebug)) return;
  Log(LogLevel::kDebug,
      absl::StrCat(method, " from ", context->peer(),
                   principal.empty() ? "" : absl::StrCat(" (", principal, ")"),
                   ": ", detail));
}

void FinishCall(grpc::CallbackServerContext* context,
                grpc::ServerUnaryReactor* reactor, const grpc::Status& status) {
  if (!status.ok() && LogEnabled(LogLevel::kDebug)) {
    Log(LogLevel::kDebug,
        absl::StrCat("call from ", context->peer(), " refused: ",
                     absl::StatusCodeToString(
                         static_cast<absl::StatusCode>(status.error_code())),
                     " ", status.error_message()));
  }
  reactor->Finish(status);
}

grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                 const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  FinishCall(context, reactor, status);
  return reactor;
}

grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                 const absl::Status& status) {
  return Answer(context, ToGrpcStatus(status));
}

}  // namespace futured::server::rpc
