// Conversions from the daemon's messages (futured.v1) to the public
// snapshots of info.h and to task outcomes.
#ifndef FUTURED_CLIENT_SRC_INFO_CONVERT_H_
#define FUTURED_CLIENT_SRC_INFO_CONVERT_H_

#include "absl/strings/string_view.h"
#include "futured/info.h"
#include "futured/v1/executor.pb.h"
#include "futured/v1/future.pb.h"
#include "google/protobuf/duration.pb.h"

namespace futured::internal {

FutureInfo FromProto(const v1::FutureInfo& info);
FunctionInfo FromProto(const v1::FunctionInfo& info);
Stats FromProto(const v1::GetStatsResponse& stats);

TaskError TaskErrorFromProto(const v1::TaskError& error);

// The value of a done future's outcome; throws its TaskError, or
// CancelledError if it was cancelled.
Value OutcomeValueOrThrow(const v1::FutureInfo& info);
// The same for an outcome alone, e.g. a Map item's; `what` names it in the
// CancelledError.
Value OutcomeValueOrThrow(const v1::Outcome& outcome, absl::string_view what);

// A finite, non-negative duration as a protobuf Duration (negative: zero).
google::protobuf::Duration ToProtoDuration(absl::Duration duration);

}  // namespace futured::internal

#endif  // FUTURED_CLIENT_SRC_INFO_CONVERT_H_
