// Task plugins: shared libraries built with the SDK (sdk/include/futured/
// plugin.h) that add task functions to a TaskRegistry.
#ifndef FUTURED_SERVER_TASK_PLUGIN_LOADER_H_
#define FUTURED_SERVER_TASK_PLUGIN_LOADER_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "server/task/task_registry.h"

namespace futured::server {

// Loads plugins into `registry` (which must outlive it and every task it
// registers) at start-up, before the registry is shared with pools. A plugin
// is dlopen()ed and never unloaded: its tasks point into it. Not
// thread-safe; used by the thread that fills the registry.
class PluginLoader {
 public:
  explicit PluginLoader(TaskRegistry* registry) : registry_(registry) {}
  PluginLoader(const PluginLoader&) = delete;
  PluginLoader& operator=(const PluginLoader&) = delete;

  // Loads the plugin at `path` and registers its tasks. In this order, the
  // first problem is the error, its message starting "plugin <path>: ":
  // dlopen fails; no futured_plugin_abi_version symbol (not a plugin); a
  // version other than this futured's FUTURED_PLUGIN_ABI_VERSION (checked
  // before anything else of the plugin runs); no futured_plugin_register; a
  // task the registry refuses, such as a name a built-in task or an earlier
  // plugin has (ALREADY_EXISTS, naming that plugin); the plugin's register
  // function failing. Tasks registered before a failure stay registered:
  // a failure is meant to stop the daemon.
  absl::Status Load(const std::string& path);

 private:
  TaskRegistry* const registry_;
  std::map<std::string, std::string> origins_;  // task name -> plugin path
};

// The paths of the *.so files in `dir`, sorted by name. NOT_FOUND if `dir`
// cannot be read.
absl::StatusOr<std::vector<std::string>> PluginsInDirectory(
    const std::string& dir);

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASK_PLUGIN_LOADER_H_
