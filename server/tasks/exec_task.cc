#include "server/tasks/exec_task.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/os/child_process.h"
#include "server/task/utf8.h"
#include "server/tasks/command_runner.h"
#include "server/tasks/result_object.h"
#include "server/tasks/value_builders.h"

namespace futured::server {
namespace {

using ::google::protobuf::Value;

// Parameter positions.
constexpr size_t kArgv = 0;
constexpr size_t kStdin = 1;
constexpr size_t kEnv = 2;
constexpr size_t kCwd = 3;
constexpr size_t kTimeout = 4;
constexpr size_t kMaxOutputBytes = 5;
constexpr size_t kText = 6;

bool IsNull(const Value& v) {
  return v.kind_case() == Value::kNullValue ||
         v.kind_case() == Value::KIND_NOT_SET;
}

absl::Status Invalid(absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("exec() ", problem));
}

absl::Status CheckArgv(const Value& argv) {
  const auto& items = argv.list_value().values();
  if (items.empty()) return Invalid("argv must not be empty");
  for (int i = 0; i < items.size(); ++i) {
    if (items[i].kind_case() != Value::kStringValue) {
      return Invalid(absl::StrCat("argv[", i, "] must be a string"));
    }
    if (absl::StrContains(items[i].string_value(), '\0')) {
      return Invalid(absl::StrCat("argv[", i, "] contains a NUL byte"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckEnv(const Value& env) {
  for (const auto& [name, value] : env.struct_value().fields()) {
    if (name.empty() || absl::StrContains(name, '=') ||
        absl::StrContains(name, '\0')) {
      return Invalid(
          absl::StrCat("env name '", name, "' is empty or holds '=' or NUL"));
    }
    if (value.kind_case() != Value::kStringValue ||
        absl::StrContains(value.string_value(), '\0')) {
      return Invalid(
          absl::StrCat("env '", name, "' must be a string without NUL bytes"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckTimeout(const Value& timeout) {
  if (IsNull(timeout)) return absl::OkStatus();
  if (timeout.kind_case() != Value::kNumberValue ||
      !std::isfinite(timeout.number_value()) || timeout.number_value() <= 0 ||
      timeout.number_value() > 86400 * 365) {
    return Invalid("timeout must be null or a positive number of seconds");
  }
  return absl::OkStatus();
}

absl::Status Validate(const ExecAllowList& allow, const BoundArgs& args) {
  if (absl::Status s = CheckArgv(args.Get(kArgv)); !s.ok()) return s;
  if (absl::Status s = CheckEnv(args.Get(kEnv)); !s.ok()) return s;
  const std::string& cwd = args.String(kCwd);
  if (!cwd.empty() &&
      (!absl::StartsWith(cwd, "/") || absl::StrContains(cwd, '\0'))) {
    return Invalid(
        absl::StrCat("cwd must be empty or an absolute path, got '", cwd, "'"));
  }
  if (absl::Status s = CheckTimeout(args.Get(kTimeout)); !s.ok()) return s;
  return allow.Resolve(args.Get(kArgv).list_value().values(0).string_value())
      .status();
}

Value ResultValue(CommandResult result, bool text) {
  const auto encode = [text](const std::string& bytes) {
    return text ? ToValidUtf8(bytes) : absl::Base64Escape(bytes);
  };
  std::optional<std::string> signal;
  if (result.signal.has_value()) signal = SignalName(*result.signal);
  return ResultObject()
      .OptionalNumber("exit_code", result.exit_code)
      .OptionalString("signal", std::move(signal))
      .String("stdout", encode(result.stdout_bytes))
      .String("stderr", encode(result.stderr_bytes))
      .Bool("stdout_truncated", result.stdout_truncated)
      .Bool("stderr_truncated", result.stderr_truncated)
      .Build();
}

CommandSpec SpecFor(const ExecOptions& options, std::string executable,
                    const TaskContext& ctx, const BoundArgs& args) {
  CommandSpec spec;
  spec.executable = std::move(executable);
  for (const Value& arg : args.Get(kArgv).list_value().values()) {
    spec.argv.push_back(arg.string_value());
  }
  for (const auto& [name, value] : args.Get(kEnv).struct_value().fields()) {
    spec.env.push_back(absl::StrCat(name, "=", value.string_value()));
  }
  std::sort(spec.env.begin(), spec.env.end());
  spec.cwd = args.String(kCwd);
  spec.stdin_bytes = args.String(kStdin);
  spec.max_output_bytes = static_cast<size_t>(args.Integer(kMaxOutputBytes));
  spec.timeout_at = ctx.deadline();
  if (!IsNull(args.Get(kTimeout))) {
    spec.timeout_at = std::min(
        spec.timeout_at, absl::Now() + absl::Seconds(args.Number(kTimeout)));
  }
  spec.kill_grace = options.kill_grace;
  spec.group_observer = options.group_observer;
  return spec;
}

Outcome Exec(const ExecOptions& options, const TaskContext& ctx,
             const BoundArgs& args) {
  const std::string& program =
      args.Get(kArgv).list_value().values(0).string_value();
  // Checked again where it runs: a worker has its own copy of the list, and
  // the file system may have changed since Submit.
  absl::StatusOr<std::string> executable = options.allow.Resolve(program);
  if (!executable.ok()) {
    return TaskError{.type = "PermissionError",
                     .message = std::string(executable.status().message())};
  }
  const CommandSpec spec = SpecFor(options, *std::move(executable), ctx, args);
  std::variant<CommandResult, TaskError> ran =
      RunCommand(spec, [&ctx] { return ctx.IsCancelled(); });
  if (auto* error = std::get_if<TaskError>(&ran)) return *std::move(error);
  CommandResult& result = std::get<CommandResult>(ran);
  const bool text = args.Bool(kText);
  switch (result.end) {
    case CommandResult::End::kStopped:
      return Cancelled{};
    case CommandResult::End::kTimedOut: {
      const bool at_deadline = spec.timeout_at == ctx.deadline();
      return TaskError{
          .type = "TimeoutError",
          .message = ToValidUtf8(absl::StrCat(
              "command '", program, "' ",
              at_deadline ? "reached its Submit deadline"
                          : absl::StrCat("timed out after ",
                                         args.Number(kTimeout), " seconds"),
              "; its process group was killed")),
          .details = ResultValue(std::move(result), text)};
    }
    case CommandResult::End::kExited:
      break;
  }
  return ResultValue(std::move(result), text);
}

Value EmptyObject() {
  Value v;
  v.mutable_struct_value();
  return v;
}

Value Null() {
  Value v;
  v.set_null_value(google::protobuf::NULL_VALUE);
  return v;
}

}  // namespace

TaskSpec ExecTaskSpec(ExecOptions options) {
  const ExecAllowList allow = options.allow;
  return TaskSpec{
      .name = "exec",
      .description =
          "Runs a program the operator allowed (--exec_allow) and returns "
          "{exit_code, signal, stdout, stderr, stdout_truncated, "
          "stderr_truncated}; env is its whole environment; off by default.",
      .params = {{.name = "argv", .type = ParamType::kList},
                 {.name = "stdin",
                  .type = ParamType::kString,
                  .default_value = StringValue("")},
                 {.name = "env",
                  .type = ParamType::kObject,
                  .default_value = EmptyObject()},
                 {.name = "cwd",
                  .type = ParamType::kString,
                  .default_value = StringValue("")},
                 {.name = "timeout",
                  .type = ParamType::kAny,
                  .default_value = Null()},
                 {.name = "max_output_bytes",
                  .type = ParamType::kInteger,
                  .default_value = NumberValue(1 << 20),
                  .min = 0,
                  .max = static_cast<double>(kExecMaxOutputBytesCap)},
                 {.name = "text",
                  .type = ParamType::kBool,
                  .default_value =
                      [] {
                        Value v;
                        v.set_bool_value(true);
                        return v;
                      }()}},
      .function =
          [options = std::move(options)](const TaskContext& ctx,
                                         const BoundArgs& args) {
            return Exec(options, ctx, args);
          },
      .validate =
          [allow](const BoundArgs& args) { return Validate(allow, args); },
  };
}

}  // namespace futured::server
