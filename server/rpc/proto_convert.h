// Conversions between the domain types and futured.v1 messages.
#ifndef FUTURED_SERVER_RPC_PROTO_CONVERT_H_
#define FUTURED_SERVER_RPC_PROTO_CONVERT_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "futured/v1/executor.pb.h"
#include "futured/v1/future.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/support/status.h"
#include "server/engine/task_metrics.h"
#include "server/future/future.h"
#include "server/future/retry_policy.h"
#include "server/pools/pool.h"
#include "server/store/cluster_view.h"
#include "server/store/journal.h"
#include "server/task/task_registry.h"

namespace futured::server::rpc {

// The one place where absl and gRPC status meet; the codes are the same.
grpc::Status ToGrpcStatus(const absl::Status& status);

void ToProto(absl::Time time, google::protobuf::Timestamp* out);
void ToProto(const Outcome& outcome, v1::Outcome* out);
void ToProto(const FutureSnapshot& snapshot, v1::FutureInfo* out);
void ToProto(const TaskSpec& spec, v1::FunctionInfo* out);
void ToProto(const PoolStats& stats, v1::PoolStats* out);
void ToProto(const FunctionStats& stats, v1::FunctionStats* out);
void ToProto(const JournalStats& stats, v1::JournalStats* out);
void ToProto(const ClusterStats& stats, v1::ClusterStats* out);
v1::CancelAction ToProto(CancelAction action);

// A Submit's retry policy: nullopt when absent, the defaults for fields
// left at 0 or absent, INVALID_ARGUMENT naming the field for a malformed
// one (RetryPolicy::Validate()).
absl::StatusOr<std::optional<RetryPolicy>> FromProto(
    const v1::SubmitRequest& request);

// nullopt when `field_set` is false (the field is absent); INVALID_ARGUMENT
// naming `field` for a negative or malformed duration, or one outside
// google.protobuf.Duration's range (±315,576,000,000 s). Every Duration of
// futured.v1's requests goes through here.
absl::StatusOr<std::optional<absl::Duration>> FromProtoTimeout(
    bool field_set, const google::protobuf::Duration& duration,
    absl::string_view field);

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_PROTO_CONVERT_H_
