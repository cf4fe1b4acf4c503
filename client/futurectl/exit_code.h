// futurectl's exit codes: one for each way a command can end, so that a
// script can tell a failed task from a timeout, a cancellation or a daemon
// that is not there. Pure functions; thread-safe.
#ifndef FUTURED_CLIENT_FUTURECTL_EXIT_CODE_H_
#define FUTURED_CLIENT_FUTURECTL_EXIT_CODE_H_

#include <exception>

#include "absl/status/status.h"

namespace futured::ctl {

enum class ExitCode : int {
  kOk = 0,
  // Bad flags, a bad duration, JSON that does not parse or has the wrong
  // shape (args must be a list, kwargs an object).
  kUsage = 1,
  // A task raised: result, or map at the first failing input. A task the
  // daemon stopped for its `submit --task-timeout` failed with TimeoutError
  // and counts here too.
  kTaskFailed = 2,
  // --timeout passed first: result, wait and as-completed (the futures go
  // on), map (the rest is cancelled), or any call's deadline.
  kTimedOut = 3,
  // The future was cancelled: result, map.
  kCancelled = 4,
  // The daemon cannot be reached, is shutting down, or health says it is not
  // serving (gRPC UNAVAILABLE).
  kUnreachable = 5,
  // The daemon refused the call: NOT_FOUND (unknown function, pool or
  // future), INVALID_ARGUMENT, FAILED_PRECONDITION, RESOURCE_EXHAUSTED, ...
  kRpcError = 6,
};

// The exit code for a call that failed with `code`: kUnreachable for
// UNAVAILABLE, kTimedOut for DEADLINE_EXCEEDED, kRpcError for the others
// (kOk for OK).
ExitCode ExitCodeForStatus(absl::StatusCode code);

// The exit code for an error thrown by the client library (errors.h):
// TaskError, TimeoutError, CancelledError, RpcError (by its code), ValueError
// (kUsage: the command's JSON did not fit); kRpcError for anything else.
ExitCode ExitCodeForError(const std::exception& error);

}  // namespace futured::ctl

#endif  // FUTURED_CLIENT_FUTURECTL_EXIT_CODE_H_
