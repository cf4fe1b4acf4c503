// The tasks every futured daemon has: the seed's examples and test helpers.
#ifndef FUTURED_SERVER_TASKS_BUILTIN_TASKS_H_
#define FUTURED_SERVER_TASKS_BUILTIN_TASKS_H_

#include "absl/status/status.h"
#include "server/task/task_registry.h"
#include "server/tasks/exec_task.h"

namespace futured::server {

// What an operator configures of the built-in tasks.
struct BuiltinTaskOptions {
  ExecOptions exec;  // exec is disabled unless exec.allow lists programs
};

// Registers the seed's tasks and those that test process pools.
//   sleep(seconds)                  -> seconds slept; stops at once on cancel;
//                                      reports progress, as do
//                                      simulate_download and burn_cpu
//   echo(value)                     -> value
//   square(x)                       -> x * x
//   fail(type, message)             -> raises TaskError{type, message}
//   factorial(n)                    -> n! as a decimal string (GMP)
//   simulate_download(url, seconds=2) -> "Content from <url>" after sleeping
//   potentially_failing_task(task_id, fail=false, sleep_time=2)
//                                   -> "Result from task <task_id>" after
//                                      sleeping, or with fail raises
//                                      ValueError; stops at once on cancel
//   crash(kind, code=1)             -> kills its worker process (SIGSEGV,
//                                      abort() or exit(code)); in a thread
//                                      pool, a RuntimeError instead
//   burn_cpu(seconds)               -> seconds, after keeping a CPU busy;
//                                      polls its token (thread pools)
//   allocate(bytes)                 -> bytes, after allocating and touching
//                                      them; MemoryError if it cannot
//   pid()                           -> the process ID it runs in
// and the task library, each in server/tasks/:
//   http.get(url, timeout, max_bytes)     -> {status, url, content_type,
//                                             bytes, title}
//   exec(argv, stdin, env, cwd, timeout, max_output_bytes, text)
//                                         -> {exit_code, signal, stdout,
//                                             stderr, *_truncated}; only
//                                             programs in options.exec.allow
//   hash.sha256(path, data, data_base64)  -> {sha256, bytes}
absl::Status RegisterBuiltinTasks(TaskRegistry& registry,
                                  BuiltinTaskOptions options = {});

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASKS_BUILTIN_TASKS_H_
