#include "server/store/journal_codec.h"

#include "futured/internal/journal.pb.h"

namespace futured::server {

std::string SerializePolicy(const RetryPolicy& policy) {
  internal::JournalRetryPolicy record;
  record.set_max_attempts(policy.max_attempts);
  for (const std::string& type : policy.retry_on) record.add_retry_on(type);
  record.set_initial_backoff_nanos(
      absl::ToInt64Nanoseconds(policy.initial_backoff));
  record.set_max_backoff_nanos(absl::ToInt64Nanoseconds(policy.max_backoff));
  record.set_multiplier(policy.multiplier);
  record.set_jitter(policy.jitter);
  return record.SerializeAsString();
}

std::optional<RetryPolicy> ParsePolicy(const std::string& bytes) {
  internal::JournalRetryPolicy record;
  if (!record.ParseFromString(bytes)) return std::nullopt;
  return RetryPolicy{
      .max_attempts = record.max_attempts(),
      .retry_on = {record.retry_on().begin(), record.retry_on().end()},
      .initial_backoff = absl::Nanoseconds(record.initial_backoff_nanos()),
      .max_backoff = absl::Nanoseconds(record.max_backoff_nanos()),
      .multiplier = record.multiplier(),
      .jitter = record.jitter()};
}

std::string SerializeAttempts(const std::vector<AttemptError>& attempts) {
  internal::JournalAttempts record;
  for (const AttemptError& attempt : attempts) {
    internal::JournalAttemptError* error = record.add_errors();
    error->set_attempt(attempt.attempt);
    error->set_type(attempt.error.type);
    error->set_message(attempt.error.message);
    if (attempt.error.details.kind_case() !=
        google::protobuf::Value::KIND_NOT_SET) {
      *error->mutable_details() = attempt.error.details;
    }
    if (attempt.start_time) {
      error->set_start_time_nanos(absl::ToUnixNanos(*attempt.start_time));
    }
    error->set_end_time_nanos(absl::ToUnixNanos(attempt.end_time));
    error->set_worker_pid(attempt.worker_pid);
  }
  return record.SerializeAsString();
}

std::optional<std::vector<AttemptError>> ParseAttempts(
    const std::string& bytes) {
  internal::JournalAttempts record;
  if (!record.ParseFromString(bytes)) return std::nullopt;
  std::vector<AttemptError> attempts;
  for (const internal::JournalAttemptError& error : record.errors()) {
    attempts.push_back(AttemptError{
        .attempt = error.attempt(),
        .error = TaskError{.type = error.type(),
                           .message = error.message(),
                           .details = error.details()},
        .start_time =
            error.has_start_time_nanos()
                ? std::optional(absl::FromUnixNanos(error.start_time_nanos()))
                : std::nullopt,
        .end_time = absl::FromUnixNanos(error.end_time_nanos()),
        .worker_pid = error.worker_pid()});
  }
  return attempts;
}

}  // namespace futured::server
