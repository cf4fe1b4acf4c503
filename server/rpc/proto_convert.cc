#include "server/rpc/proto_convert.h"

#include <cstdint>
#include <tuple>
#include <type_traits>

#include "absl/strings/str_cat.h"

namespace futured::server::rpc {
namespace {

v1::FutureState ToProto(FutureState state) {
  switch (state) {
    case FutureState::kPending:
      return v1::FUTURE_STATE_PENDING;
    case FutureState::kRunning:
      return v1::FUTURE_STATE_RUNNING;
    case FutureState::kFinished:
      return v1::FUTURE_STATE_FINISHED;
    case FutureState::kCancelled:
      return v1::FUTURE_STATE_CANCELLED;
  }
  return v1::FUTURE_STATE_UNSPECIFIED;
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      std::string(status.message()));
}

void ToProto(absl::Time time, google::protobuf::Timestamp* out) {
  const int64_t nanos = absl::ToUnixNanos(time);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

void ToProto(const Outcome& outcome, v1::Outcome* out) {
  std::visit(
      [out](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, google::protobuf::Value>) {
          *out->mutable_value() = o;
        } else if constexpr (std::is_same_v<T, TaskError>) {
          v1::TaskError* error = out->mutable_error();
          error->set_type(o.type);
          error->set_message(o.message);
          if (o.details.kind_case() != google::protobuf::Value::KIND_NOT_SET) {
            *error->mutable_details() = o.details;
          }
        } else {
          out->set_cancelled(true);
        }
      },
      outcome);
}

void ToProto(const FutureSnapshot& snapshot, v1::FutureInfo* out) {
  out->set_id(snapshot.id);
  out->set_function(snapshot.function);
  out->set_pool(snapshot.pool);
  out->set_state(ToProto(snapshot.state));
  out->set_done(snapshot.done());
  out->set_running(snapshot.state == FutureState::kRunning);
  out->set_cancelled(snapshot.state == FutureState::kCancelled);
  if (snapshot.outcome) ToProto(*snapshot.outcome, out->mutable_outcome());
  ToProto(snapshot.submit_time, out->mutable_submit_time());
  if (snapshot.start_time) {
    ToProto(*snapshot.start_time, out->mutable_start_time());
  }
  if (snapshot.end_time) ToProto(*snapshot.end_time, out->mutable_end_time());
  if (snapshot.deadline != absl::InfiniteFuture()) {
    ToProto(snapshot.deadline, out->mutable_deadline());
  }
  out->set_worker_pid(snapshot.worker_pid);
  if (snapshot.progress) {
    v1::Progress* progress = out->mutable_progress();
    progress->set_fraction(snapshot.progress->fraction);
    progress->set_message(snapshot.progress->message);
    ToProto(snapshot.progress->update_time, progress->mutable_update_time());
  }
  out->set_attempt(snapshot.attempt);
  out->set_max_attempts(snapshot.max_attempts);
  for (const AttemptError& attempt : snapshot.earlier_attempts) {
    v1::AttemptError* earlier = out->add_earlier_attempts();
    earlier->set_attempt(attempt.attempt);
    v1::Outcome outcome;
    ToProto(Outcome(attempt.error), &outcome);
    *earlier->mutable_error() = std::move(*outcome.mutable_error());
    if (attempt.start_time) {
      ToProto(*attempt.start_time, earlier->mutable_start_time());
    }
    ToProto(attempt.end_time, earlier->mutable_end_time());
    earlier->set_worker_pid(attempt.worker_pid);
  }
}

absl::StatusOr<std::optional<RetryPolicy>> FromProto(
    const v1::SubmitRequest& request) {
  if (!request.has_retry_policy()) return std::nullopt;
  const v1::RetryPolicy& in = request.retry_policy();
  RetryPolicy policy;
  if (in.max_attempts() != 0) policy.max_attempts = in.max_attempts();
  policy.retry_on.assign(in.retry_on().begin(), in.retry_on().end());
  for (auto [set, duration, field, out] :
       {std::tuple{in.has_initial_backoff(), &in.initial_backoff(),
                   "retry_policy.initial_backoff", &policy.initial_backoff},
        std::tuple{in.has_max_backoff(), &in.max_backoff(),
                   "retry_policy.max_backoff", &policy.max_backoff}}) {
    absl::StatusOr<std::optional<absl::Duration>> backoff =
        FromProtoTimeout(set, *duration, field);
    if (!backoff.ok()) return backoff.status();
    if (*backoff) *out = **backoff;
  }
  if (in.multiplier() != 0) policy.multiplier = in.multiplier();
  if (in.has_jitter()) policy.jitter = in.jitter();
  if (absl::Status valid = policy.Validate(); !valid.ok()) return valid;
  return policy;
}

void ToProto(const TaskSpec& spec, v1::FunctionInfo* out) {
  out->set_name(spec.name);
  out->set_description(spec.description);
  out->set_signature(spec.Signature());
  for (const Param& param : spec.params) {
    v1::Parameter* p = out->add_parameters();
    p->set_name(param.name);
    p->set_type(std::string(ParamTypeName(param.type)));
    p->set_required(!param.default_value.has_value());
    if (param.default_value) *p->mutable_default_value() = *param.default_value;
  }
}

void ToProto(const PoolStats& stats, v1::PoolStats* out) {
  out->set_name(stats.name);
  out->set_kind(stats.kind);
  out->set_workers(stats.workers);
  out->set_queued(stats.queued);
  out->set_running(stats.running);
  out->set_queue_capacity(stats.queue_capacity);
  out->set_worker_restarts(stats.worker_restarts);
}

void ToProto(const FunctionStats& stats, v1::FunctionStats* out) {
  out->set_function(stats.name);
  out->set_finished(stats.finished);
  out->set_failed(stats.failed);
  out->set_cancelled(stats.cancelled);
  out->set_retried(stats.retried);
  for (size_t i = 0; i < kRunTimeBuckets.size(); ++i) {
    v1::HistogramBucket* bucket = out->add_run_time_buckets();
    bucket->set_le(kRunTimeBuckets[i]);
    bucket->set_count(stats.run_time_buckets[i]);
  }
  out->set_run_count(stats.run_count);
  out->set_run_seconds_sum(stats.run_seconds_sum);
}

v1::CancelAction ToProto(CancelAction action) {
  switch (action) {
    case CancelAction::kCancelledPending:
      return v1::CANCEL_ACTION_CANCELLED_PENDING;
    case CancelAction::kStopRequested:
      return v1::CANCEL_ACTION_STOP_REQUESTED;
    case CancelAction::kAlreadyDone:
      return v1::CANCEL_ACTION_ALREADY_DONE;
    case CancelAction::kLeftRunning:
      return v1::CANCEL_ACTION_LEFT_RUNNING;
  }
  return v1::CANCEL_ACTION_UNSPECIFIED;
}

absl::StatusOr<std::optional<absl::Duration>> FromProtoTimeout(
    bool field_set, const google::protobuf::Duration& duration,
    absl::string_view field) {
  if (!field_set) return std::nullopt;
  // google/protobuf/duration.proto's range, about 10,000 years. Beyond it
  // absl::Seconds saturates to an infinite duration, which would read as
  // "no deadline" or "wait forever".
  constexpr int64_t kMaxSeconds = 315576000000;
  if (duration.seconds() > kMaxSeconds || duration.seconds() < -kMaxSeconds) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " is out of range: ", duration.seconds(),
        "s; google.protobuf.Duration allows at most ", kMaxSeconds, "s"));
  }
  const bool mixed_signs = (duration.seconds() > 0 && duration.nanos() < 0) ||
                           (duration.seconds() < 0 && duration.nanos() > 0);
  if (mixed_signs || duration.nanos() <= -1000000000 ||
      duration.nanos() >= 1000000000) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " is not a valid duration"));
  }
  const absl::Duration d =
      absl::Seconds(duration.seconds()) + absl::Nanoseconds(duration.nanos());
  if (d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, " must not be negative, got ", absl::FormatDuration(d)));
  }
  return d;
}

void ToProto(const JournalStats& stats, v1::JournalStats* out) {
  out->set_path(stats.path);
  out->set_commits(stats.commits);
  out->set_records(stats.records);
  out->set_failed_commits(stats.failed_commits);
  const absl::Duration t = stats.commit_time;
  out->mutable_commit_time()->set_seconds(absl::ToInt64Seconds(t));
  out->mutable_commit_time()->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::Seconds(absl::ToInt64Seconds(t)))));
  out->set_file_bytes(stats.file_bytes);
}

void ToProto(const ClusterStats& stats, v1::ClusterStats* out) {
  out->set_node(stats.node);
  for (const ClusterNodeStatus& node : stats.nodes) {
    v1::ClusterNode* n = out->add_nodes();
    n->set_name(node.name);
    n->set_epoch(node.epoch);
    ToProto(node.lease_until, n->mutable_lease_until());
    n->set_alive(node.alive);
    ToProto(node.joined, n->mutable_joined());
  }
  const absl::Duration t = stats.database_round_trip;
  out->mutable_database_round_trip()->set_seconds(absl::ToInt64Seconds(t));
  out->mutable_database_round_trip()->set_nanos(static_cast<int32_t>(
      absl::ToInt64Nanoseconds(t - absl::Seconds(absl::ToInt64Seconds(t)))));
  if (stats.refreshed.has_value()) {
    ToProto(*stats.refreshed, out->mutable_refreshed());
  }
  out->set_refresh_failures(stats.refresh_failures);
  out->set_error(stats.error);
  out->set_adoptions(stats.adoptions);
  out->set_adopted_futures(stats.adopted_futures);
  out->set_claims(stats.claims);
  out->set_claimed_futures(stats.claimed_futures);
}

}  // namespace futured::server::rpc
