#include "server/task/plugin_task.h"

#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "server/task/utf8.h"

namespace futured::server {
namespace {

// The host side of one call: what the plugin's callbacks write to.
struct CallState {
  const TaskContext& ctx;
  const std::string& name;
  bool ended = false;      // set_* was called; later calls are ignored
  std::string value_json;  // from set_value
  std::optional<Outcome> outcome;
};

CallState& StateOf(void* host) { return *static_cast<CallState*>(host); }

LogLevel ToLogLevel(int level) {
  switch (level) {
    case FUTURED_LOG_DEBUG:
      return LogLevel::kDebug;
    case FUTURED_LOG_WARNING:
      return LogLevel::kWarning;
    case FUTURED_LOG_ERROR:
      return LogLevel::kError;
    default:
      return LogLevel::kInfo;
  }
}

const char* OrEmpty(const char* text) { return text == nullptr ? "" : text; }

int IsCancelled(void* host) { return StateOf(host).ctx.IsCancelled() ? 1 : 0; }

void ReportProgress(void* host, double fraction, const char* message) {
  StateOf(host).ctx.ReportProgress(fraction, OrEmpty(message));
}

void LogLine(void* host, int level, const char* message) {
  Log(ToLogLevel(level), absl::StrCat("task ", StateOf(host).name, ": ",
                                      ToValidUtf8(OrEmpty(message))));
}

void SetValue(void* host, const char* json, size_t size) {
  CallState& state = StateOf(host);
  if (std::exchange(state.ended, true)) return;
  if (json != nullptr) state.value_json.assign(json, size);
}

void SetError(void* host, const char* type, const char* message) {
  CallState& state = StateOf(host);
  if (std::exchange(state.ended, true)) return;
  std::string error_type = ToValidUtf8(OrEmpty(type));
  state.outcome = TaskError{
      .type = error_type.empty() ? "RuntimeError" : std::move(error_type),
      .message = ToValidUtf8(OrEmpty(message))};
}

void SetCancelled(void* host) {
  CallState& state = StateOf(host);
  if (std::exchange(state.ended, true)) return;
  state.outcome = Cancelled{};
}

// The bound arguments as a JSON list. Fails for what JSON cannot hold, such
// as a NaN that a binary client sent for a parameter of type any.
absl::StatusOr<std::string> ArgsJson(const BoundArgs& args) {
  google::protobuf::ListValue list;
  for (size_t i = 0; i < args.size(); ++i) *list.add_values() = args.Get(i);
  std::string json;
  const auto status = google::protobuf::util::MessageToJsonString(list, &json);
  if (!status.ok()) return absl::InvalidArgumentError(status.ToString());
  return json;
}

// What the call ended with, once the plugin's function has returned.
Outcome OutcomeOf(CallState& state) {
  if (state.outcome.has_value()) return *std::move(state.outcome);
  if (!state.ended) {
    return TaskError{.type = "PluginError",
                     .message = absl::StrCat("plugin task ", state.name,
                                             " returned without a result")};
  }
  google::protobuf::Value value;
  const auto parsed =
      google::protobuf::util::JsonStringToMessage(state.value_json, &value);
  if (!parsed.ok()) {
    return TaskError{
        .type = "PluginError",
        .message = absl::StrCat("plugin task ", state.name,
                                " returned text that is not JSON: ",
                                ToValidUtf8(parsed.ToString()))};
  }
  return value;
}

}  // namespace

TaskFunction PluginTaskFunction(std::string name,
                                futured_task_function function,
                                void* user_data) {
  return [name = std::move(name), function, user_data](
             const TaskContext& ctx, const BoundArgs& args) -> Outcome {
    const absl::StatusOr<std::string> args_json = ArgsJson(args);
    if (!args_json.ok()) {
      return TaskError{
          .type = "ValueError",
          .message = absl::StrCat(
              "the arguments of plugin task ", name,
              " are not JSON: ", ToValidUtf8(args_json.status().message()))};
    }
    CallState state{.ctx = ctx,
                    .name = name,
                    .ended = false,
                    .value_json = "",
                    .outcome = std::nullopt};
    const int64_t deadline_micros = ctx.deadline() == absl::InfiniteFuture()
                                        ? 0
                                        : absl::ToUnixMicros(ctx.deadline());
    const futured_task_call call{
        .args_json = args_json->data(),
        .args_json_size = args_json->size(),
        .deadline_unix_micros = deadline_micros,
        .host = &state,
        .is_cancelled = &IsCancelled,
        .report_progress = &ReportProgress,
        .log = &LogLine,
        .set_value = &SetValue,
        .set_error = &SetError,
        .set_cancelled = &SetCancelled,
    };
    function(&call, user_data);
    return OutcomeOf(state);
  };
}

}  // namespace futured::server
