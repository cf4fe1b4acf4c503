// A task function of a plugin, called across the C boundary of
// sdk/include/futured/plugin_abi.h.
#ifndef FUTURED_SERVER_TASK_PLUGIN_TASK_H_
#define FUTURED_SERVER_TASK_PLUGIN_TASK_H_

#include <string>

#include "futured/plugin_abi.h"
#include "server/task/task_registry.h"

namespace futured::server {

// A TaskFunction that calls `function(call, user_data)` of the plugin that
// registered task `name`. The bound arguments go in as a JSON list; what the
// plugin hands back is checked, never trusted: text that is not JSON, or no
// result at all, is a TaskError "PluginError"; an error's type and message
// are made valid UTF-8. Progress and log lines go to the task's context and
// the daemon's log. Thread-safe if the plugin's function is.
TaskFunction PluginTaskFunction(std::string name,
                                futured_task_function function,
                                void* user_data);

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASK_PLUGIN_TASK_H_
