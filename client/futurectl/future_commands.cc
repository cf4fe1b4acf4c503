#include "future_commands.h"

#include <unistd.h>

#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "command_context.h"
#include "exit_code.h"
#include "futured/call.h"
#include "futured/client.h"
#include "futured/errors.h"
#include "futured/future.h"
#include "futured/info.h"
#include "futured/json.h"
#include "futured/value.h"
#include "json_args.h"
#include "progress_bar.h"

namespace futured::ctl {

ExitCode Submit(const CommandContext& context, const SubmitArgs& args) {
  Call call(args.function);
  for (const Value& arg : ParseJsonList(args.args_json, "ARGS")) {
    call.arg(arg);
  }
  // Held in a variable: a range-for over a member of a temporary would read
  // the fields after the temporary is gone.
  const google::protobuf::Struct kwargs =
      ParseJsonObject(args.kwargs_json, "--kwargs");
  for (const auto& [name, value] : kwargs.fields()) {
    call.kwarg(name, value);
  }
  if (args.task_timeout.has_value() &&
      *args.task_timeout != absl::InfiniteDuration()) {
    call.timeout(*args.task_timeout);
  }
  if (!args.request_id.empty()) call.request_id(args.request_id);
  if (args.retry.has_value()) call.retry(*args.retry);
  // Not an Executor's submit: an Executor waits for its futures when it
  // goes, as Python's `with` block does, and this command must exit at once.
  const Future<> future = context.client.submit(call, args.pool);
  context.PrintLine(
      ToJson(ToValue(std::map<std::string, std::string>{{"id", future.id()}})));
  return ExitCode::kOk;
}

ExitCode Status(const CommandContext& context,
                const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    context.PrintLine(context.client.future(id).info().json);
  }
  return ExitCode::kOk;
}

namespace {

// Follows `future` until it is done, showing each snapshot on stderr.
void ShowProgress(const CommandContext& context, const Future<>& future) {
  ProgressBar bar(STDERR_FILENO, 1);
  future.follow(
      [&bar](const FutureInfo& info) {
        if (!bar.enabled()) {
          std::cerr << info.json << std::endl;
          return;
        }
        if (info.progress.has_value()) {
          bar.UpdateFraction(info.progress->fraction, info.progress->message);
        } else {
          bar.UpdateFraction(0, FutureStateName(info.state));
        }
        if (info.done()) bar.Hide();  // the result line follows on stdout
      },
      context.wait_timeout);
}

}  // namespace

ExitCode Result(const CommandContext& context, const std::string& id,
                bool show_progress) {
  const Future<> future = context.client.future(id);
  if (show_progress) ShowProgress(context, future);
  ExitCode code = ExitCode::kOk;
  try {
    if (future.exception(context.wait_timeout).has_value()) {
      code = ExitCode::kTaskFailed;
    }
  } catch (const CancelledError&) {
    code = ExitCode::kCancelled;
  }
  // Done and seen: the snapshot makes no call.
  context.PrintLine(future.info().json);
  return code;
}

ExitCode Cancel(const CommandContext& context,
                const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    const Future<> future = context.client.future(id);
    const bool cancelled = future.cancel();
    context.PrintLine(
        absl::StrCat("{\"cancelled\":", cancelled ? "true" : "false",
                     ",\"future\":", future.info().json, "}"));
  }
  return ExitCode::kOk;
}

ExitCode Release(const CommandContext& context,
                 const std::vector<std::string>& ids) {
  const int64_t released = context.client.release(ids);
  // int64 is a JSON string in proto3's mapping, as grpcurl prints it.
  context.PrintLine(absl::StrCat("{\"released\":\"", released, "\"}"));
  return ExitCode::kOk;
}

}  // namespace futured::ctl
