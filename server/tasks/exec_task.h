// exec: runs a program the operator allowed, the way Python's
// subprocess.run(argv, input=..., env=..., cwd=..., timeout=...,
// capture_output=True) does.
#ifndef FUTURED_SERVER_TASKS_EXEC_TASK_H_
#define FUTURED_SERVER_TASKS_EXEC_TASK_H_

#include <sys/types.h>

#include <cstdint>
#include <functional>

#include "absl/time/time.h"
#include "server/task/task_registry.h"
#include "server/tasks/exec_allow_list.h"

namespace futured::server {

// The most output exec(max_output_bytes=...) may keep per stream.
inline constexpr int64_t kExecMaxOutputBytesCap = int64_t{16} << 20;

struct ExecOptions {
  ExecAllowList allow;  // empty: exec is disabled (PERMISSION_DENIED)
  // After SIGTERM to a cancelled or timed-out command's process group, how
  // long before SIGKILL.
  absl::Duration kill_grace = absl::Seconds(1);
  // Told each command's process group while it may outlive this process
  // (CommandSpec::group_observer); a process-pool worker sets it.
  std::function<void(pid_t)> group_observer = {};
};

// exec(argv, stdin="", env={}, cwd="", timeout=null,
//      max_output_bytes=1 MiB, text=true)
//   -> {"exit_code": 0 or null, "signal": "SIGKILL" or null,
//       "stdout": ..., "stderr": ..., "stdout_truncated": bool,
//       "stderr_truncated": bool}
// argv[0] must be an absolute path that resolves to a program of
// `options.allow`; else (and always while the list is empty) Submit is
// PERMISSION_DENIED; malformed arguments are INVALID_ARGUMENT. The program
// gets exactly `env` as its environment, `stdin` on its standard input,
// `cwd` (absolute; "" is the daemon's) as its directory, and a process group
// of its own. A non-zero exit is a result, not an error. With text, output
// is UTF-8 with invalid bytes replaced (U+FFFD); without, it is base64.
// Errors: "TimeoutError" after `timeout` seconds (the group is killed; the
// details hold the result so far), an OsError type if it cannot start
// (FileNotFoundError for a missing cwd, ...), "PermissionError" if the
// allow-list no longer admits it where it runs. Cancel and the Submit
// deadline kill the group (SIGTERM, then SIGKILL after kill_grace) in both
// kinds of pool; see command_runner.h.
TaskSpec ExecTaskSpec(ExecOptions options);

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASKS_EXEC_TASK_H_
