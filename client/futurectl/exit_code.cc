#include "exit_code.h"

#include <exception>

#include "absl/status/status.h"
#include "futured/errors.h"

namespace futured::ctl {

ExitCode ExitCodeForStatus(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return ExitCode::kOk;
    case absl::StatusCode::kUnavailable:
      return ExitCode::kUnreachable;
    case absl::StatusCode::kDeadlineExceeded:
      return ExitCode::kTimedOut;
    default:
      return ExitCode::kRpcError;
  }
}

ExitCode ExitCodeForError(const std::exception& error) {
  if (dynamic_cast<const TaskError*>(&error) != nullptr) {
    return ExitCode::kTaskFailed;
  }
  if (dynamic_cast<const TimeoutError*>(&error) != nullptr) {
    return ExitCode::kTimedOut;
  }
  if (dynamic_cast<const CancelledError*>(&error) != nullptr) {
    return ExitCode::kCancelled;
  }
  if (const auto* rpc = dynamic_cast<const RpcError*>(&error)) {
    return ExitCodeForStatus(rpc->code());
  }
  if (dynamic_cast<const ValueError*>(&error) != nullptr) {
    return ExitCode::kUsage;
  }
  return ExitCode::kRpcError;
}

}  // namespace futured::ctl
