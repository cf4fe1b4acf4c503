#include "server/task/plugin_loader.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "futured/plugin_abi.h"
#include "google/protobuf/util/json_util.h"
#include "server/task/plugin_task.h"
#include "server/task/utf8.h"

namespace futured::server {
namespace {

using AbiVersionFunction = uint32_t (*)();
using RegisterFunction = int (*)(const futured_registrar*);

// What one futured_plugin_register call works with.
struct Registration {
  TaskRegistry& registry;
  std::map<std::string, std::string>& origins;
  const std::string& path;
  absl::Status error;       // the first task refused
  std::string last_logged;  // the plugin's last error line
};

absl::StatusOr<ParamType> ParamTypeOf(int type) {
  switch (type) {
    case FUTURED_PARAM_ANY:
      return ParamType::kAny;
    case FUTURED_PARAM_NUMBER:
      return ParamType::kNumber;
    case FUTURED_PARAM_INTEGER:
      return ParamType::kInteger;
    case FUTURED_PARAM_STRING:
      return ParamType::kString;
    case FUTURED_PARAM_BOOL:
      return ParamType::kBool;
    case FUTURED_PARAM_LIST:
      return ParamType::kList;
    case FUTURED_PARAM_OBJECT:
      return ParamType::kObject;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown type ", type));
}

absl::StatusOr<Param> ParamOf(const futured_param_def& def) {
  if (def.name == nullptr) {
    return absl::InvalidArgumentError("a parameter has no name");
  }
  Param param{.name = ToValidUtf8(def.name)};
  absl::StatusOr<ParamType> type = ParamTypeOf(def.type);
  if (!type.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "parameter '", param.name, "' has ", type.status().message()));
  }
  param.type = *type;
  if (def.default_json != nullptr) {
    google::protobuf::Value value;
    const auto parsed =
        google::protobuf::util::JsonStringToMessage(def.default_json, &value);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("default of parameter '", param.name,
                       "' is not JSON: ", parsed.ToString()));
    }
    param.default_value = std::move(value);
  }
  if (def.has_min) param.min = def.min;
  if (def.has_max) param.max = def.max;
  return param;
}

absl::StatusOr<TaskSpec> SpecOf(const futured_task_def& def) {
  if (def.name == nullptr || def.function == nullptr) {
    return absl::InvalidArgumentError("a task has no name or no function");
  }
  TaskSpec spec;
  spec.name = ToValidUtf8(def.name);
  spec.description =
      ToValidUtf8(def.description == nullptr ? "" : def.description);
  for (size_t i = 0; i < def.param_count; ++i) {
    absl::StatusOr<Param> param = ParamOf(def.params[i]);
    if (!param.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("task '", spec.name, "': ", param.status().message()));
    }
    spec.params.push_back(*std::move(param));
  }
  spec.function = PluginTaskFunction(spec.name, def.function, def.user_data);
  return spec;
}

absl::Status AddTask(Registration& r, const futured_task_def& def) {
  absl::StatusOr<TaskSpec> spec = SpecOf(def);
  if (!spec.ok()) return spec.status();
  const std::string name = spec->name;
  absl::Status status = r.registry.Register(*std::move(spec));
  if (absl::IsAlreadyExists(status)) {
    const auto origin = r.origins.find(name);
    return absl::AlreadyExistsError(
        absl::StrCat("task '", name, "' is already registered ",
                     origin == r.origins.end()
                         ? "as a built-in task"
                         : absl::StrCat("by plugin ", origin->second)));
  }
  if (status.ok()) r.origins.emplace(name, r.path);
  return status;
}

int AddTaskCallback(void* host, const futured_task_def* def) {
  Registration& r = *static_cast<Registration*>(host);
  absl::Status status =
      def == nullptr ? absl::InvalidArgumentError("a null task definition")
                     : AddTask(r, *def);
  if (status.ok()) return 0;
  if (r.error.ok()) r.error = std::move(status);
  return 1;
}

void LogCallback(void* host, int level, const char* message) {
  Registration& r = *static_cast<Registration*>(host);
  const std::string text = ToValidUtf8(message == nullptr ? "" : message);
  if (level >= FUTURED_LOG_ERROR) r.last_logged = text;
  const LogLevel log_level = level >= FUTURED_LOG_ERROR     ? LogLevel::kError
                             : level == FUTURED_LOG_WARNING ? LogLevel::kWarning
                             : level == FUTURED_LOG_DEBUG   ? LogLevel::kDebug
                                                            : LogLevel::kInfo;
  Log(log_level, absl::StrCat("plugin ", r.path, ": ", text));
}

absl::Status PluginError(const std::string& path, absl::StatusCode code,
                         absl::string_view what) {
  return absl::Status(code, absl::StrCat("plugin ", path, ": ", what));
}

}  // namespace

absl::Status PluginLoader::Load(const std::string& path) {
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    return PluginError(path, absl::StatusCode::kFailedPrecondition,
                       absl::StrCat("cannot load: ", dlerror()));
  }
  auto abi_version = reinterpret_cast<AbiVersionFunction>(
      dlsym(handle, "futured_plugin_abi_version"));
  if (abi_version == nullptr) {
    return PluginError(path, absl::StatusCode::kFailedPrecondition,
                       "no futured_plugin_abi_version symbol: not a futured "
                       "plugin (define one with FUTURED_PLUGIN from "
                       "futured/plugin.h)");
  }
  const uint32_t version = abi_version();
  if (version != FUTURED_PLUGIN_ABI_VERSION) {
    return PluginError(
        path, absl::StatusCode::kFailedPrecondition,
        absl::StrCat("built against plugin SDK ABI version ", version,
                     ", but this futured has version ",
                     FUTURED_PLUGIN_ABI_VERSION,
                     "; rebuild it with this futured's futured/plugin.h"));
  }
  auto register_tasks = reinterpret_cast<RegisterFunction>(
      dlsym(handle, "futured_plugin_register"));
  if (register_tasks == nullptr) {
    return PluginError(path, absl::StatusCode::kFailedPrecondition,
                       "no futured_plugin_register symbol");
  }
  Registration registration{.registry = *registry_,
                            .origins = origins_,
                            .path = path,
                            .error = absl::OkStatus(),
                            .last_logged = ""};
  const futured_registrar registrar{.abi_version = FUTURED_PLUGIN_ABI_VERSION,
                                    .host = &registration,
                                    .add_task = &AddTaskCallback,
                                    .log = &LogCallback};
  const int result = register_tasks(&registrar);
  if (!registration.error.ok()) {
    return PluginError(path, registration.error.code(),
                       registration.error.message());
  }
  if (result != 0) {
    return PluginError(
        path, absl::StatusCode::kFailedPrecondition,
        absl::StrCat("futured_plugin_register failed (", result, ")",
                     registration.last_logged.empty()
                         ? ""
                         : absl::StrCat(": ", registration.last_logged)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> PluginsInDirectory(
    const std::string& dir) {
  std::error_code error;
  std::filesystem::directory_iterator it(dir, error);
  if (error) {
    return absl::NotFoundError(absl::StrCat("cannot read plugin directory ",
                                            dir, ": ", error.message()));
  }
  std::vector<std::string> paths;
  for (; it != std::filesystem::directory_iterator(); it.increment(error)) {
    if (it->path().extension() == ".so") paths.push_back(it->path());
  }
  if (error) {
    return absl::NotFoundError(absl::StrCat("cannot read plugin directory ",
                                            dir, ": ", error.message()));
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace futured::server
