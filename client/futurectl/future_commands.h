// futurectl's subcommands on single futures: submit, status, result, cancel
// and release. Each prints grpcurl-style JSON lines on the context's stream
// (see command_context.h for the contract, exit_code.h for the codes).
#ifndef FUTURED_CLIENT_FUTURECTL_FUTURE_COMMANDS_H_
#define FUTURED_CLIENT_FUTURECTL_FUTURE_COMMANDS_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "command_context.h"
#include "exit_code.h"
#include "futured/call.h"

namespace futured::ctl {

struct SubmitArgs {
  std::string function;
  std::string args_json = "[]";    // a JSON list
  std::string kwargs_json = "{}";  // a JSON object
  std::string pool = "thread";
  // The daemon's deadline for the task (SubmitRequest.timeout).
  std::optional<absl::Duration> task_timeout;
  // Makes a retry safe (SubmitRequest.request_id); empty: none.
  std::string request_id;
  // When the daemon runs a failed task again (SubmitRequest.retry_policy);
  // unset: once.
  std::optional<RetryPolicy> retry;
};

// Queues a call and prints {"id":"..."} (SubmitResponse). Blocks for one
// call. The future is left to run: nothing waits for it.
ExitCode Submit(const CommandContext& context, const SubmitArgs& args);

// Prints each future's FutureInfo, without waiting.
ExitCode Status(const CommandContext& context,
                const std::vector<std::string>& ids);

// Waits for the future and prints its FutureInfo with the outcome. kOk for
// a value, kTaskFailed for an error, kCancelled; a timeout throws
// TimeoutError (nothing printed). With `show_progress` it follows the
// future's progress meanwhile (FollowProgress) on stderr: a progress bar
// when stderr is a terminal, else each snapshot as a JSON line.
ExitCode Result(const CommandContext& context, const std::string& id,
                bool show_progress = false);

// Cancels each future and prints {"cancelled":bool,"future":{...}}, the
// future as it is afterwards. kOk whether or not it could be cancelled: the
// line says.
ExitCode Cancel(const CommandContext& context,
                const std::vector<std::string>& ids);

// Forgets done futures and prints {"released":"<n>"} (ReleaseResponse).
ExitCode Release(const CommandContext& context,
                 const std::vector<std::string>& ids);

}  // namespace futured::ctl

#endif  // FUTURED_CLIENT_FUTURECTL_FUTURE_COMMANDS_H_
