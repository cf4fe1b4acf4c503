// The one place where gRPC statuses and deadlines meet the library's error
// model (errors.h).
#ifndef FUTURED_CLIENT_SRC_RPC_STATUS_H_
#define FUTURED_CLIENT_SRC_RPC_STATUS_H_

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace futured::internal {

// gRPC and abseil share the canonical codes.
absl::Status ToAbslStatus(const grpc::Status& status);

// Throws RpcError unless `status` is OK.
void ThrowIfFailed(const grpc::Status& status);

// Sets the deadline of `context` to now + `timeout`, unless it is infinite.
void SetDeadline(grpc::ClientContext* context, absl::Duration timeout);

}  // namespace futured::internal

#endif  // FUTURED_CLIENT_SRC_RPC_STATUS_H_
