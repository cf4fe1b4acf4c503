#include "info_convert.h"

#include <algorithm>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "futured/errors.h"
#include "futured/info.h"
#include "google/protobuf/timestamp.pb.h"
#include "google/protobuf/util/json_util.h"

namespace futured {

const char* FutureStateName(FutureState state) {
  switch (state) {
    case FutureState::kPending:
      return "PENDING";
    case FutureState::kRunning:
      return "RUNNING";
    case FutureState::kFinished:
      return "FINISHED";
    case FutureState::kCancelled:
      return "CANCELLED";
  }
  return "UNKNOWN";
}

namespace internal {
namespace {

std::string Json(const google::protobuf::Message& message) {
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(message, &json);
  return json;
}

std::optional<absl::Time> TimeOf(bool present,
                                 const google::protobuf::Timestamp& t) {
  if (!present) return std::nullopt;
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

FutureState StateFromProto(v1::FutureState state) {
  switch (state) {
    case v1::FUTURE_STATE_RUNNING:
      return FutureState::kRunning;
    case v1::FUTURE_STATE_FINISHED:
      return FutureState::kFinished;
    case v1::FUTURE_STATE_CANCELLED:
      return FutureState::kCancelled;
    default:
      return FutureState::kPending;
  }
}

}  // namespace

TaskError TaskErrorFromProto(const v1::TaskError& error) {
  return TaskError(error.type(), error.message(), error.details());
}

FutureInfo FromProto(const v1::FutureInfo& info) {
  FutureInfo out;
  out.id = info.id();
  out.function = info.function();
  out.pool = info.pool();
  out.state = StateFromProto(info.state());
  if (info.outcome().has_value()) out.value = info.outcome().value();
  if (info.outcome().has_error()) {
    out.error = TaskErrorFromProto(info.outcome().error());
  }
  out.submit_time = TimeOf(info.has_submit_time(), info.submit_time());
  out.start_time = TimeOf(info.has_start_time(), info.start_time());
  out.end_time = TimeOf(info.has_end_time(), info.end_time());
  out.deadline = TimeOf(info.has_deadline(), info.deadline());
  out.worker_pid = info.worker_pid();
  if (info.has_progress()) {
    out.progress =
        Progress{.fraction = info.progress().fraction(),
                 .message = info.progress().message(),
                 .update_time = TimeOf(true, info.progress().update_time())
                                    .value_or(absl::InfinitePast())};
  }
  // An older daemon sends no attempt: its futures have one.
  out.attempt = std::max(info.attempt(), 1);
  out.max_attempts = std::max(info.max_attempts(), 1);
  for (const v1::AttemptError& earlier : info.earlier_attempts()) {
    out.earlier_attempts.push_back(AttemptError{
        .attempt = earlier.attempt(),
        .error = TaskErrorFromProto(earlier.error()),
        .start_time = TimeOf(earlier.has_start_time(), earlier.start_time()),
        .end_time = TimeOf(earlier.has_end_time(), earlier.end_time()),
        .worker_pid = earlier.worker_pid()});
  }
  out.json = Json(info);
  return out;
}

FunctionInfo FromProto(const v1::FunctionInfo& info) {
  FunctionInfo out;
  out.name = info.name();
  out.description = info.description();
  out.signature = info.signature();
  for (const v1::Parameter& p : info.parameters()) {
    ParameterInfo parameter;
    parameter.name = p.name();
    parameter.type = p.type();
    parameter.required = p.required();
    if (p.has_default_value()) parameter.default_value = p.default_value();
    out.parameters.push_back(std::move(parameter));
  }
  out.json = Json(info);
  return out;
}

Stats FromProto(const v1::GetStatsResponse& stats) {
  Stats out;
  for (const v1::PoolStats& p : stats.pools()) {
    out.pools.push_back(PoolStats{
        .name = p.name(),
        .kind = p.kind(),
        .workers = p.workers(),
        .queued = p.queued(),
        .running = p.running(),
        .queue_capacity = p.queue_capacity(),
        .worker_restarts = p.worker_restarts(),
    });
  }
  out.futures = stats.futures();
  out.waiting_calls = stats.waiting_calls();
  out.start_time = TimeOf(stats.has_start_time(), stats.start_time());
  out.json = Json(stats);
  return out;
}

Value OutcomeValueOrThrow(const v1::FutureInfo& info) {
  const std::string what = absl::StrCat("future ", info.id());
  // A cancelled future's outcome may be unset.
  if (info.outcome().kind_case() == v1::Outcome::KIND_NOT_SET &&
      info.state() == v1::FUTURE_STATE_CANCELLED) {
    throw CancelledError(absl::StrCat(what, " was cancelled"));
  }
  return OutcomeValueOrThrow(info.outcome(), what);
}

Value OutcomeValueOrThrow(const v1::Outcome& outcome, absl::string_view what) {
  switch (outcome.kind_case()) {
    case v1::Outcome::kValue:
      return outcome.value();
    case v1::Outcome::kError:
      throw TaskErrorFromProto(outcome.error());
    case v1::Outcome::kCancelled:
      throw CancelledError(absl::StrCat(what, " was cancelled"));
    case v1::Outcome::KIND_NOT_SET:
      break;
  }
  throw Error(absl::StrCat(what, " is done without outcome"));
}

google::protobuf::Duration ToProtoDuration(absl::Duration duration) {
  if (duration < absl::ZeroDuration()) duration = absl::ZeroDuration();
  google::protobuf::Duration out;
  const int64_t seconds =
      absl::IDivDuration(duration, absl::Seconds(1), &duration);
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(duration)));
  return out;
}

}  // namespace internal
}  // namespace futured
