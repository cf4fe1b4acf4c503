#include "batch_commands.h"

#include <unistd.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "command_context.h"
#include "exit_code.h"
#include "futured/as_completed.h"
#include "futured/errors.h"
#include "futured/executor.h"
#include "futured/future.h"
#include "futured/json.h"
#include "futured/map_results.h"
#include "futured/value.h"
#include "futured/wait.h"
#include "progress_bar.h"

namespace futured::ctl {
namespace {

std::vector<Future<>> FuturesOf(const Client& client,
                                const std::vector<std::string>& ids) {
  std::vector<Future<>> futures;
  futures.reserve(ids.size());
  for (const std::string& id : ids) futures.push_back(client.future(id));
  return futures;
}

// True if `future`, done, finished with a task error (not cancelled).
bool RaisedError(const Future<>& future) {
  try {
    return future.exception(absl::ZeroDuration()).has_value();
  } catch (const CancelledError&) {
    return false;
  }
}

// Whether wait()'s condition holds for `sets`, as Python decides it.
bool ConditionHolds(const DoneAndNotDone<Future<>>& sets,
                    ReturnWhen return_when) {
  if (sets.not_done.empty()) return true;
  switch (return_when) {
    case ReturnWhen::kFirstCompleted:
      return !sets.done.empty();
    case ReturnWhen::kFirstException:
      for (const Future<>& future : sets.done) {
        if (RaisedError(future)) return true;
      }
      return false;
    case ReturnWhen::kAllCompleted:
      return false;
  }
  return false;
}

// Follows the futures as they complete, advancing `bar`, until
// `return_when` holds or `timeout` passes.
void FollowWithProgress(const std::vector<Future<>>& futures,
                        absl::Duration timeout, ReturnWhen return_when,
                        ProgressBar& bar) {
  int64_t completed = 0;
  bar.Update(completed);
  try {
    for (const Future<>& future : futured::as_completed(futures, timeout)) {
      bar.Update(++completed);
      if (return_when == ReturnWhen::kFirstCompleted) return;
      if (return_when == ReturnWhen::kFirstException && RaisedError(future)) {
        return;
      }
    }
  } catch (const TimeoutError&) {
    // The final sets, taken by the caller, show what did not complete.
  }
}

// Output is assembled in the proto's field order, as grpcurl prints it
// (a Struct's fields would come out in hash order). Values are printed by
// ToJson, which escapes strings.

std::string JsonIdList(const std::vector<Future<>>& futures) {
  std::vector<std::string> ids;
  ids.reserve(futures.size());
  for (const Future<>& future : futures) {
    ids.push_back(ToJson(ToValue(future.id())));
  }
  return absl::StrCat("[", absl::StrJoin(ids, ","), "]");
}

// A MapItem: {"index":"<i>","outcome":<outcome>}. int64 is a JSON string in
// proto3's mapping.
std::string MapItemJson(int64_t index, const std::string& outcome) {
  return absl::StrCat("{\"index\":\"", index, "\",\"outcome\":", outcome, "}");
}

std::string ValueOutcome(const Value& value) {
  return absl::StrCat("{\"value\":", ToJson(value), "}");
}

std::string ErrorOutcome(const TaskError& error) {
  std::string details;
  if (error.details().kind_case() != Value::KIND_NOT_SET) {
    details = absl::StrCat(",\"details\":", ToJson(error.details()));
  }
  return absl::StrCat("{\"error\":{\"type\":", ToJson(ToValue(error.type())),
                      ",\"message\":", ToJson(ToValue(error.message())),
                      details, "}}");
}

constexpr char kCancelledOutcome[] = "{\"cancelled\":true}";

}  // namespace

ExitCode Wait(const CommandContext& context,
              const std::vector<std::string>& ids, ReturnWhen return_when) {
  const std::vector<Future<>> futures = FuturesOf(context.client, ids);
  DoneAndNotDone<Future<>> sets;
  {
    const std::set<std::string> distinct(ids.begin(), ids.end());
    ProgressBar bar(STDERR_FILENO, static_cast<int64_t>(distinct.size()));
    if (bar.enabled()) {
      FollowWithProgress(futures, context.wait_timeout, return_when, bar);
      // The sets as they are now, as Python's wait() returns them.
      sets = futured::wait(futures, absl::ZeroDuration(),
                           ReturnWhen::kAllCompleted);
    } else {
      sets = futured::wait(futures, context.wait_timeout, return_when);
    }
  }
  const bool timed_out = !ConditionHolds(sets, return_when);
  context.PrintLine(absl::StrCat("{\"done\":", JsonIdList(sets.done),
                                 ",\"notDone\":", JsonIdList(sets.not_done),
                                 ",\"timedOut\":", timed_out ? "true" : "false",
                                 "}"));
  return timed_out ? ExitCode::kTimedOut : ExitCode::kOk;
}

ExitCode AsCompleted(const CommandContext& context,
                     const std::vector<std::string>& ids) {
  for (const Future<>& future : futured::as_completed(
           FuturesOf(context.client, ids), context.wait_timeout)) {
    // Yielded futures have seen their outcome: no call.
    context.PrintLine(future.info().json);
  }
  return ExitCode::kOk;
}

ExitCode Map(const CommandContext& context, const MapArgs& args) {
  Executor executor = context.client.executor(args.pool);
  ProgressBar bar(STDERR_FILENO, static_cast<int64_t>(args.inputs.size()));
  int64_t index = 0;
  bar.Update(index);
  try {
    MapResults<Value> results =
        executor.map(args.function, args.inputs,
                     MapOptions{.timeout = context.wait_timeout,
                                .buffersize = args.buffersize,
                                .spread_inputs = args.spread_inputs});
    for (const Value& value : results) {
      bar.Hide();
      context.PrintLine(MapItemJson(index, ValueOutcome(value)));
      bar.Update(++index);
    }
  } catch (const TaskError& error) {
    bar.Hide();
    context.PrintLine(MapItemJson(index, ErrorOutcome(error)));
    return ExitCode::kTaskFailed;
  } catch (const CancelledError&) {
    bar.Hide();
    context.PrintLine(MapItemJson(index, kCancelledOutcome));
    return ExitCode::kCancelled;
  }
  return ExitCode::kOk;
}

}  // namespace futured::ctl
