// The futured plugin SDK: write task functions in C++, build them into a
// shared library, and futured runs them like its built-in tasks, in its
// thread pool or its worker processes.
//
//   #include "futured/plugin.h"
//   namespace fp = futured::plugin;
//
//   fp::Json WordCount(fp::Context& ctx, const fp::Args& args) {
//     const std::string& text = args.string("text");
//     ...
//     return count;
//   }
//
//   FUTURED_PLUGIN(registry) {
//     registry.add({.name = "text.word_count",
//                   .description = "Counts the words of a text.",
//                   .params = {{.name = "text", .type =
//                   fp::ParamType::kString}}, .function = WordCount});
//   }
//
// Build it with `g++ -std=c++20 -shared -fPIC -I<prefix>/include myplugin.cc
// -o myplugin.so` (nothing to link; with CMake, link futured::plugin_sdk)
// and start `futured --plugin=./myplugin.so`.
//
// A task function:
// - reads its arguments from Args, already checked by futured against the
//   parameters it declared (types, bounds, required, defaults filled in);
// - returns a Json value, or throws TaskError("ValueError", "...") to raise
//   an error, or throws Cancelled() once ctx.cancelled(); any other
//   exception becomes a "RuntimeError" with its what(): nothing thrown ever
//   crosses into futured;
// - may report progress (ctx.progress(0.5, "half way")) and log (ctx.log());
// - may run on several threads at once, so it must be thread-safe.
//
// Header-only, over the C boundary of futured/plugin_abi.h. A plugin built
// against another FUTURED_PLUGIN_ABI_VERSION is refused at start-up.
#ifndef FUTURED_SDK_INCLUDE_FUTURED_PLUGIN_H_
#define FUTURED_SDK_INCLUDE_FUTURED_PLUGIN_H_

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <list>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "futured/plugin_abi.h"
#include "futured/plugin_json.h"

namespace futured::plugin {

// Throw from a task function that stops because it was cancelled.
struct Cancelled {};

// The JSON type a parameter accepts; kInteger is a number with no fraction.
enum class ParamType {
  kAny = FUTURED_PARAM_ANY,
  kNumber = FUTURED_PARAM_NUMBER,
  kInteger = FUTURED_PARAM_INTEGER,
  kString = FUTURED_PARAM_STRING,
  kBool = FUTURED_PARAM_BOOL,
  kList = FUTURED_PARAM_LIST,
  kObject = FUTURED_PARAM_OBJECT,
};

enum class LogLevel {
  kDebug = FUTURED_LOG_DEBUG,
  kInfo = FUTURED_LOG_INFO,
  kWarning = FUTURED_LOG_WARNING,
  kError = FUTURED_LOG_ERROR,
};

// One parameter, as in a Python signature; the same shape as futured's own.
struct Param {
  std::string name;
  ParamType type = ParamType::kAny;
  // Set for an optional parameter: the value used when it is not given.
  std::optional<Json> default_value = std::nullopt;
  // Inclusive bounds for kNumber and kInteger parameters.
  std::optional<double> min = std::nullopt;
  std::optional<double> max = std::nullopt;
};

// What a running task sees of futured. Valid only during the call; used by
// the task's thread.
class Context {
 public:
  explicit Context(const futured_task_call* call) : call_(call) {}

  // True once the future was cancelled or its deadline passed. In a process
  // pool it stays false: futured stops such a task by killing its worker.
  bool cancelled() const { return call_->is_cancelled(call_->host) != 0; }

  // When the call's deadline passes, if it has one.
  std::optional<std::chrono::system_clock::time_point> deadline() const {
    if (call_->deadline_unix_micros == 0) return std::nullopt;
    return std::chrono::system_clock::time_point(
        std::chrono::microseconds(call_->deadline_unix_micros));
  }

  // Reports progress: `fraction` in [0, 1] and a short message. Cheap:
  // futured keeps the latest and coalesces rapid reports.
  void progress(double fraction, std::string_view message = {}) const {
    const std::string text(message);
    call_->report_progress(call_->host, fraction, text.c_str());
  }

  // One line in futured's log, naming the task.
  void log(LogLevel level, std::string_view message) const {
    const std::string text(message);
    call_->log(call_->host, static_cast<int>(level), text.c_str());
  }

  // Sleeps for `d` in short slices, waking early if cancelled. False if
  // cancelled.
  template <typename Rep, typename Period>
  bool sleep_for(std::chrono::duration<Rep, Period> d) const {
    using Clock = std::chrono::steady_clock;
    const Clock::time_point end =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(d);
    while (!cancelled()) {
      const Clock::duration left = end - Clock::now();
      if (left <= Clock::duration::zero()) return true;
      std::this_thread::sleep_for(
          std::min<Clock::duration>(left, std::chrono::milliseconds(20)));
    }
    return false;
  }

 private:
  const futured_task_call* call_;
};

// A call's arguments: one per declared parameter, by name or position.
class Args {
 public:
  Args(const std::vector<Param>* params, Json::Array values)
      : params_(params), values_(std::move(values)) {}

  size_t size() const { return values_.size(); }
  const Json& at(size_t i) const {
    if (i >= values_.size()) {
      throw TaskError("IndexError",
                      "argument " + std::to_string(i) + " out of range");
    }
    return values_[i];
  }
  // The argument of the parameter `name`; KeyError for an undeclared name.
  const Json& operator[](std::string_view name) const {
    for (size_t i = 0; i < params_->size() && i < values_.size(); ++i) {
      if ((*params_)[i].name == name) return values_[i];
    }
    throw TaskError("KeyError",
                    "no parameter '" + std::string(name) + "' declared");
  }
  double number(std::string_view name) const {
    return (*this)[name].as_number();
  }
  int64_t integer(std::string_view name) const {
    return (*this)[name].as_integer();
  }
  const std::string& string(std::string_view name) const {
    return (*this)[name].as_string();
  }
  bool boolean(std::string_view name) const { return (*this)[name].as_bool(); }

 private:
  const std::vector<Param>* params_;
  Json::Array values_;
};

using TaskFunction = std::function<Json(Context&, const Args&)>;

// A task to register: its name (dots group names, e.g. "text.word_count"),
// a one-line description, its parameters and its function.
struct Task {
  std::string name;
  std::string description;
  std::vector<Param> params;
  TaskFunction function;
};

namespace internal {

// A registered task as the plugin keeps it for its whole life (futured never
// unloads a plugin): what the C boundary's user_data points at.
struct RegisteredTask {
  Task task;
  std::vector<std::string> defaults;  // JSON text of each default
  std::vector<futured_param_def> param_defs;
};

// Every task this plugin registered. A list, so that entries never move
// (user_data points at them); a static, so that they stay reachable (leak
// checkers see no leak) and are freed with the plugin at exit.
inline std::list<RegisteredTask>& RegisteredTasks() {
  static std::list<RegisteredTask> tasks;
  return tasks;
}

// Runs `call` for the task in `user_data`; nothing thrown gets out.
inline void CallTask(const futured_task_call* call, void* user_data) noexcept {
  const auto* registered = static_cast<const RegisteredTask*>(user_data);
  try {
    try {
      Json args =
          Json::parse(std::string_view(call->args_json, call->args_json_size));
      Context context(call);
      const Args bound(&registered->task.params, std::move(args).TakeArray());
      const std::string json = registered->task.function(context, bound).dump();
      call->set_value(call->host, json.data(), json.size());
    } catch (const TaskError& e) {
      call->set_error(call->host, e.type().c_str(), e.what());
    } catch (const Cancelled&) {
      call->set_cancelled(call->host);
    } catch (const std::bad_alloc& e) {
      call->set_error(call->host, "MemoryError", e.what());
    } catch (const std::exception& e) {
      call->set_error(call->host, "RuntimeError", e.what());
    } catch (...) {
      call->set_error(call->host, "RuntimeError", "unknown exception");
    }
  } catch (...) {
    // Reporting the error threw (out of memory): futured reports the call
    // as one that set no result.
  }
}

}  // namespace internal

// Registers tasks with futured; handed to the FUTURED_PLUGIN body.
class Registry {
 public:
  explicit Registry(const futured_registrar* registrar)
      : registrar_(registrar) {}

  // Registers `task`. Throws std::runtime_error if futured refuses it (a
  // taken name, a bad parameter); futured then refuses the whole plugin,
  // saying why.
  void add(Task task) {
    if (!task.function) {
      throw std::invalid_argument("task '" + task.name + "' has no function");
    }
    // Kept for the plugin's life: futured calls the task through it.
    std::list<internal::RegisteredTask>& tasks = internal::RegisteredTasks();
    internal::RegisteredTask* registered =
        &tasks.emplace_back(internal::RegisteredTask{std::move(task), {}, {}});
    const std::vector<Param>& params = registered->task.params;
    registered->defaults.reserve(params.size());
    for (const Param& p : params) {
      registered->defaults.push_back(p.default_value ? p.default_value->dump()
                                                     : std::string());
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const Param& p = params[i];
      registered->param_defs.push_back(futured_param_def{
          .name = p.name.c_str(),
          .type = static_cast<int>(p.type),
          .default_json =
              p.default_value ? registered->defaults[i].c_str() : nullptr,
          .has_min = p.min.has_value(),
          .min = p.min.value_or(0),
          .has_max = p.max.has_value(),
          .max = p.max.value_or(0),
      });
    }
    const futured_task_def def{
        .name = registered->task.name.c_str(),
        .description = registered->task.description.c_str(),
        .params = registered->param_defs.data(),
        .param_count = registered->param_defs.size(),
        .function = &internal::CallTask,
        .user_data = registered,
    };
    if (registrar_->add_task(registrar_->host, &def) != 0) {
      const std::string name = registered->task.name;
      tasks.pop_back();  // registration is single-threaded: it is the last
      throw std::runtime_error("futured refused task '" + name + "'");
    }
  }

  // One line in futured's log, naming the plugin.
  void log(LogLevel level, std::string_view message) const {
    const std::string text(message);
    registrar_->log(registrar_->host, static_cast<int>(level), text.c_str());
  }

 private:
  const futured_registrar* registrar_;
};

namespace internal {

// futured_plugin_register's body: runs `define`, turning what it throws
// into a failure code and a log line.
inline int Register(const futured_registrar* registrar,
                    void (*define)(Registry&)) noexcept {
  try {
    Registry registry(registrar);
    define(registry);
    return 0;
  } catch (const std::exception& e) {
    registrar->log(registrar->host, FUTURED_LOG_ERROR, e.what());
  } catch (...) {
    registrar->log(registrar->host, FUTURED_LOG_ERROR, "unknown exception");
  }
  return 1;
}

}  // namespace internal
}  // namespace futured::plugin

// Defines the plugin's two exported functions; the block that follows is
// the body of a function taking `futured::plugin::Registry& registry`,
// called once when futured loads the plugin (in the daemon and in each
// worker process). Use it once per plugin.
#define FUTURED_PLUGIN(registry)                                            \
  static void futured_plugin_define(::futured::plugin::Registry& registry); \
  extern "C" __attribute__((visibility("default"))) uint32_t                \
  futured_plugin_abi_version(void) {                                        \
    return FUTURED_PLUGIN_ABI_VERSION;                                      \
  }                                                                         \
  extern "C" __attribute__((visibility("default"))) int                     \
  futured_plugin_register(const futured_registrar* registrar) {             \
    return ::futured::plugin::internal::Register(registrar,                 \
                                                 &futured_plugin_define);   \
  }                                                                         \
  static void futured_plugin_define(::futured::plugin::Registry& registry)

#endif  // FUTURED_SDK_INCLUDE_FUTURED_PLUGIN_H_
