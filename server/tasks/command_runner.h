// Runs one program to completion with its stdin, stdout and stderr on
// pipes: the engine of the exec task.
#ifndef FUTURED_SERVER_TASKS_COMMAND_RUNNER_H_
#define FUTURED_SERVER_TASKS_COMMAND_RUNNER_H_

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "server/task/outcome.h"

namespace futured::server {

struct CommandSpec {
  std::string executable;         // the file to run (already allowed)
  std::vector<std::string> argv;  // argv[0] as the caller gave it
  std::vector<std::string> env;   // "NAME=value": the whole environment
  std::string cwd;                // "" keeps the runner's directory
  std::string stdin_bytes;
  size_t max_output_bytes = 1 << 20;  // per stream; the rest is discarded
  absl::Time timeout_at = absl::InfiniteFuture();
  absl::Duration kill_grace = absl::Seconds(1);  // SIGTERM, then SIGKILL
  // If set, called with the command's process group once it is spawned, and
  // with 0 once that group has been sent SIGKILL, before its leader is
  // reaped. A process-pool worker records it where the daemon can read it,
  // which kills the group if the worker dies in between (TaskSlots).
  std::function<void(pid_t)> group_observer = {};
};

struct CommandResult {
  enum class End {
    kExited,    // the program ended by itself (exit or a signal)
    kTimedOut,  // timeout_at passed; the runner killed it
    kStopped,   // should_stop said so (or a worker's SIGTERM); killed
  };
  End end = End::kExited;
  std::optional<int> exit_code;  // set if it exited
  std::optional<int> signal;     // set if a signal killed it
  std::string stdout_bytes;
  std::string stderr_bytes;
  bool stdout_truncated = false;
  bool stderr_truncated = false;
};

// Spawns `spec.executable` with posix_spawn in a process group of its own:
// no blocked signals, default dispositions, descriptors 0-2 on pipes and no
// other, exactly spec.env. Feeds stdin and reads stdout and stderr with one
// poll() loop, so no amount of output deadlocks. Keeps at most
// max_output_bytes of each stream (setting *_truncated), draining the rest.
//
// Ends the command's whole process group with SIGTERM, then SIGKILL after
// kill_grace, when timeout_at passes, when `should_stop` (polled every 50
// ms) returns true, or when a worker process gets SIGTERM (see
// termination_request.h). When the program exits by itself, what is left in
// its group (background children) gets SIGKILL. The program is always
// reaped; nothing of it outlives the call unless it left its process group
// (setsid, setpgid), or this process died first (then see group_observer).
//
// A program that cannot be started is an OsError TaskError (e.g.
// FileNotFoundError for a missing cwd). Blocks until the program is reaped.
// Thread-safe: calls share nothing. The process must ignore SIGPIPE (futured
// and futured-worker do), as a program may exit without reading its stdin.
std::variant<CommandResult, TaskError> RunCommand(
    const CommandSpec& spec, const std::function<bool()>& should_stop);

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASKS_COMMAND_RUNNER_H_
