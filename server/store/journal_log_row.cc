#include "server/store/journal_log_row.h"

#include <optional>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "futured/internal/journal.pb.h"
#include "server/store/journal_codec.h"

namespace futured::server::journal_log_row {
namespace {

using journal_ops::AcceptOp;
using journal_ops::EndOp;
using journal_ops::ForgetOp;
using journal_ops::RetryOp;
using journal_ops::StartOp;
using journal_ops::UnstartOp;

void Add(internal::JournalLogRow& row, const AcceptOp& op) {
  for (const AcceptedCall& call : op.calls) {
    internal::JournalAccepted& r = *row.add_records()->mutable_accepted();
    r.set_id(call.id);
    r.set_principal(call.principal);
    r.set_request_id(call.request_id);
    r.set_function(call.function);
    r.set_pool(call.pool);
    r.set_args(call.args);
    r.set_submit_time_nanos(absl::ToUnixNanos(call.submit_time));
    if (call.deadline != absl::InfiniteFuture()) {
      r.set_deadline_nanos(absl::ToUnixNanos(call.deadline));
    }
    if (call.timeout)
      r.set_timeout_nanos(absl::ToInt64Nanoseconds(*call.timeout));
    if (call.retry_policy) {
      r.set_retry_policy(SerializePolicy(*call.retry_policy));
    }
  }
}

void Add(internal::JournalLogRow& row, const StartOp& op) {
  internal::JournalStarted& r = *row.add_records()->mutable_started();
  for (const std::string& id : op.ids) r.add_ids(id);
  r.set_start_time_nanos(absl::ToUnixNanos(op.start_time));
  r.set_worker_pid(op.worker_pid);
}

void Add(internal::JournalLogRow& row, const UnstartOp& op) {
  internal::JournalUnstarted& r = *row.add_records()->mutable_unstarted();
  for (const std::string& id : op.ids) r.add_ids(id);
}

void Add(internal::JournalLogRow& row, const EndOp& op) {
  internal::JournalEnded& r = *row.add_records()->mutable_ended();
  r.set_id(op.id);
  r.set_state(journal_ops::StateColumn(op.state));
  if (op.ending.start_time) {
    r.set_start_time_nanos(absl::ToUnixNanos(*op.ending.start_time));
  }
  r.set_end_time_nanos(absl::ToUnixNanos(op.ending.end_time));
  if (const auto* value =
          std::get_if<google::protobuf::Value>(&op.ending.outcome)) {
    value->SerializeToString(r.mutable_value());
  } else if (const auto* error = std::get_if<TaskError>(&op.ending.outcome)) {
    internal::JournalError& e = *r.mutable_error();
    e.set_type(error->type);
    e.set_message(error->message);
    if (error->details.kind_case() != google::protobuf::Value::KIND_NOT_SET) {
      error->details.SerializeToString(e.mutable_details());
    }
  }
}

void Add(internal::JournalLogRow& row, const RetryOp& op) {
  internal::JournalRetried& r = *row.add_records()->mutable_retried();
  r.set_id(op.id);
  r.set_attempt(op.attempt);
  r.set_earlier(SerializeAttempts(op.earlier));
}

void Add(internal::JournalLogRow& row, const ForgetOp& op) {
  internal::JournalForgotten& r = *row.add_records()->mutable_forgotten();
  for (const std::string& id : op.ids) r.add_ids(id);
}

absl::Status Unreadable(absl::string_view what) {
  return absl::DataLossError(
      absl::StrCat("journal: the log has an unreadable ", what));
}

AcceptedCall CallOf(internal::JournalAccepted& r) {
  return AcceptedCall{
      .id = std::move(*r.mutable_id()),
      .principal = std::move(*r.mutable_principal()),
      .request_id = std::move(*r.mutable_request_id()),
      .function = std::move(*r.mutable_function()),
      .pool = std::move(*r.mutable_pool()),
      .args = std::move(*r.mutable_args()),
      .submit_time = absl::FromUnixNanos(r.submit_time_nanos()),
      .deadline = r.has_deadline_nanos()
                      ? absl::FromUnixNanos(r.deadline_nanos())
                      : absl::InfiniteFuture(),
      .timeout = r.has_timeout_nanos()
                     ? std::optional(absl::Nanoseconds(r.timeout_nanos()))
                     : std::nullopt};
}

absl::StatusOr<EndOp> EndOf(internal::JournalEnded& r) {
  const std::optional<FutureState> state =
      journal_ops::StateOfColumn(r.state());
  if (!state ||
      (*state != FutureState::kFinished && *state != FutureState::kCancelled)) {
    return Unreadable("end");
  }
  EndOp op{.id = std::move(*r.mutable_id()),
           .state = *state,
           .ending = {},
           .committed = nullptr};
  if (r.has_start_time_nanos()) {
    op.ending.start_time = absl::FromUnixNanos(r.start_time_nanos());
  }
  op.ending.end_time = absl::FromUnixNanos(r.end_time_nanos());
  if (*state == FutureState::kCancelled) {
    op.ending.outcome = Cancelled{};
  } else if (r.has_error()) {
    TaskError error{
        .type = std::move(*r.mutable_error()->mutable_type()),
        .message = std::move(*r.mutable_error()->mutable_message())};
    if (!r.error().details().empty() &&
        !error.details.ParseFromString(r.error().details())) {
      return Unreadable("error");
    }
    op.ending.outcome = std::move(error);
  } else {
    google::protobuf::Value value;
    if (!value.ParseFromString(r.value())) return Unreadable("value");
    op.ending.outcome = std::move(value);
  }
  return op;
}

std::vector<std::string> IdsOf(
    google::protobuf::RepeatedPtrField<std::string>& ids) {
  return {std::make_move_iterator(ids.begin()),
          std::make_move_iterator(ids.end())};
}

// The op of one record.
absl::StatusOr<journal_ops::Op<>> OpOf(internal::JournalLogRecord& record) {
  switch (record.kind_case()) {
    case internal::JournalLogRecord::kAccepted: {
      AcceptOp op;
      op.calls.push_back(CallOf(*record.mutable_accepted()));
      if (record.accepted().has_retry_policy()) {
        op.calls.back().retry_policy =
            ParsePolicy(record.accepted().retry_policy());
        if (!op.calls.back().retry_policy) return Unreadable("retry policy");
      }
      return op;
    }
    case internal::JournalLogRecord::kStarted: {
      internal::JournalStarted& r = *record.mutable_started();
      return StartOp{.ids = IdsOf(*r.mutable_ids()),
                     .start_time = absl::FromUnixNanos(r.start_time_nanos()),
                     .worker_pid = r.worker_pid(),
                     .committed = nullptr};
    }
    case internal::JournalLogRecord::kUnstarted:
      return UnstartOp{.ids =
                           IdsOf(*record.mutable_unstarted()->mutable_ids())};
    case internal::JournalLogRecord::kEnded: {
      absl::StatusOr<EndOp> op = EndOf(*record.mutable_ended());
      if (!op.ok()) return op.status();
      return *std::move(op);
    }
    case internal::JournalLogRecord::kRetried: {
      internal::JournalRetried& r = *record.mutable_retried();
      std::optional<std::vector<AttemptError>> earlier =
          ParseAttempts(r.earlier());
      if (!earlier) return Unreadable("retry");
      return RetryOp{.id = std::move(*r.mutable_id()),
                     .attempt = r.attempt(),
                     .earlier = *std::move(earlier),
                     .committed = nullptr};
    }
    case internal::JournalLogRecord::kForgotten:
      return ForgetOp{.ids = IdsOf(*record.mutable_forgotten()->mutable_ids())};
    case internal::JournalLogRecord::KIND_NOT_SET:
      break;
  }
  return Unreadable("record");
}

// The records that make a future what `f` is, into `row`'s carried ones:
// accepted, then retried, started or ended as it was.
void AddCarried(internal::JournalLogRow& row, const JournaledFuture& f) {
  internal::JournalLogRow records;
  AcceptOp accept;
  accept.calls.push_back(f.call);
  Add(records, accept);
  if (f.attempt > 1 || !f.earlier_attempts.empty()) {
    Add(records, RetryOp{.id = f.call.id,
                         .attempt = f.attempt,
                         .earlier = f.earlier_attempts,
                         .committed = nullptr});
  }
  if (f.state == FutureState::kRunning && f.start_time) {
    Add(records, StartOp{.ids = {f.call.id},
                         .start_time = *f.start_time,
                         .worker_pid = f.worker_pid,
                         .committed = nullptr});
  }
  if (f.ending) {
    Add(records, EndOp{.id = f.call.id,
                       .state = f.state,
                       .ending = *f.ending,
                       .committed = nullptr});
  }
  for (internal::JournalLogRecord& r : *records.mutable_records()) {
    row.add_carried()->Swap(&r);
  }
}

}  // namespace

std::string Encode(const std::vector<journal_ops::Op<>>& ops,
                   const std::vector<JournaledFuture>& carried) {
  internal::JournalLogRow row;
  for (const journal_ops::Op<>& op : ops) {
    std::visit([&row](const auto& o) { Add(row, o); }, op);
  }
  for (const JournaledFuture& f : carried) AddCarried(row, f);
  return row.SerializeAsString();
}

absl::Status Decode(
    const std::string& bytes,
    absl::FunctionRef<void(journal_ops::Op<>&, bool carried)> each) {
  internal::JournalLogRow row;
  if (!row.ParseFromString(bytes)) return Unreadable("row");
  for (bool carried : {true, false}) {
    for (internal::JournalLogRecord& record :
         carried ? *row.mutable_carried() : *row.mutable_records()) {
      absl::StatusOr<journal_ops::Op<>> op = OpOf(record);
      if (!op.ok()) return op.status();
      each(*op, carried);
    }
  }
  return absl::OkStatus();
}

}  // namespace futured::server::journal_log_row
