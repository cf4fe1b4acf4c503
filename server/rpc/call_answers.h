// How the Executor service's handlers log a call and end it early: a unary
// call through its default reactor, a stream with a reactor that only fails.
#ifndef FUTURED_SERVER_RPC_CALL_ANSWERS_H_
#define FUTURED_SERVER_RPC_CALL_ANSWERS_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "server/rpc/proto_convert.h"

namespace futured::server::rpc {

// One debug line per request: "Result from ipv4:127.0.0.1:5000 (alice):
// <detail>"; the anonymous principal is not named.
void LogRequest(grpc::CallbackServerContext* context, absl::string_view method,
                absl::string_view principal, absl::string_view detail);

// Ends a unary call through `reactor`, its default reactor, with a debug line
// for a refusal. Any thread.
void FinishCall(grpc::CallbackServerContext* context,
                grpc::ServerUnaryReactor* reactor, const grpc::Status& status);

// Ends a unary call at once with `status`, through its default reactor.
grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                 const grpc::Status& status);
grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                 const absl::Status& status);

// A stream that ends with an error before writing anything. `Reactor` is
// the stream's reactor base (ServerWriteReactor<...>, ServerBidiReactor<...>).
// It deletes itself when gRPC is done with it.
template <typename Reactor>
class FailedCall final : public Reactor {
 public:
  explicit FailedCall(const grpc::Status& status) { this->Finish(status); }
  explicit FailedCall(const absl::Status& status)
      : FailedCall(ToGrpcStatus(status)) {}
  void OnDone() override { delete this; }
};
template <typename Response>
using FailedStream = FailedCall<grpc::ServerWriteReactor<Response>>;

// A request's `timeout`: unset is none; negative or out of range is
// INVALID_ARGUMENT.
template <typename Request>
absl::StatusOr<std::optional<absl::Duration>> TimeoutOf(
    const Request& request) {
  return FromProtoTimeout(request.has_timeout(), request.timeout(), "timeout");
}

// The deadline of a call with `timeout` that starts now.
inline absl::Time DeadlineAfter(std::optional<absl::Duration> timeout) {
  return timeout ? absl::Now() + *timeout : absl::InfiniteFuture();
}

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_CALL_ANSWERS_H_
