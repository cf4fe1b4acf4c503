// Calling a task function the way both kinds of pool do.
#ifndef FUTURED_SERVER_TASK_TASK_CALL_H_
#define FUTURED_SERVER_TASK_TASK_CALL_H_

#include "server/task/outcome.h"
#include "server/task/task_context.h"
#include "server/task/task_registry.h"

namespace futured::server {

// Calls `spec.function`, turning an exception into the error Python would
// show: std::bad_alloc is a MemoryError, anything else a RuntimeError.
// Blocks for as long as the task runs; thread-safe if the task is.
Outcome CallTask(const TaskSpec& spec, const TaskContext& ctx,
                 const BoundArgs& args);

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASK_TASK_CALL_H_
