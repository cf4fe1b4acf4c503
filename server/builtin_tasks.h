// The tasks every futured daemon has: the seed's examples and test helpers.
#ifndef FUTURED_SERVER_BUILTIN_TASKS_H_
#define FUTURED_SERVER_BUILTIN_TASKS_H_

#include "absl/status/status.h"
#include "server/task_registry.h"

namespace futured {

// Registers sleep, echo, square, fail, factorial and simulate_download.
//   sleep(seconds)                  -> seconds slept; stops at once on cancel
//   echo(value)                     -> value
//   square(x)                       -> x * x
//   fail(type, message)             -> raises TaskError{type, message}
//   factorial(n)                    -> n! as a decimal string (GMP)
//   simulate_download(url, seconds=2) -> "Content from <url>" after sleeping
absl::Status RegisterBuiltinTasks(TaskRegistry& registry);

}  // namespace futured

#endif  // FUTURED_SERVER_BUILTIN_TASKS_H_
