#include "rpc_status.h"

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "futured/errors.h"
#include "grpcpp/grpcpp.h"

namespace futured::internal {

absl::Status ToAbslStatus(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
}

void ThrowIfFailed(const grpc::Status& status) {
  if (!status.ok()) throw RpcError(ToAbslStatus(status));
}

void SetDeadline(grpc::ClientContext* context, absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return;
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

}  // namespace futured::internal
