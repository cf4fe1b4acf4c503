#include "server/future/retry_policy.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace futured::server {
namespace {

absl::Status CheckBackoff(absl::Duration backoff, absl::string_view field) {
  if (backoff < absl::ZeroDuration() || backoff > RetryPolicy::kMaxBackoff) {
    return absl::InvalidArgumentError(
        absl::StrCat("retry_policy.", field, " must be from 0 to ",
                     absl::FormatDuration(RetryPolicy::kMaxBackoff), ", got ",
                     absl::FormatDuration(backoff)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RetryPolicy::Validate() const {
  if (max_attempts < 1 || max_attempts > kMaxAttempts) {
    return absl::InvalidArgumentError(absl::StrCat(
        "retry_policy.max_attempts must be from 1 to ", kMaxAttempts,
        " (0 for the default, 3), got ", max_attempts));
  }
  if (retry_on.empty()) {
    return absl::InvalidArgumentError(
        "retry_policy.retry_on names no error type: name those to retry, "
        "e.g. [\"WorkerDiedError\", \"ValueError\"]");
  }
  if (retry_on.size() > static_cast<size_t>(kMaxRetryOn)) {
    return absl::InvalidArgumentError(
        absl::StrCat("retry_policy.retry_on has ", retry_on.size(),
                     " error types; at most ", kMaxRetryOn, " allowed"));
  }
  for (const std::string& type : retry_on) {
    if (type.empty() || type.size() > kMaxTypeBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("retry_policy.retry_on: an error type must be 1 to ",
                       kMaxTypeBytes, " bytes, got ", type.size()));
    }
  }
  if (absl::Status s = CheckBackoff(initial_backoff, "initial_backoff");
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckBackoff(max_backoff, "max_backoff"); !s.ok()) {
    return s;
  }
  if (initial_backoff > max_backoff) {
    return absl::InvalidArgumentError(absl::StrCat(
        "retry_policy.initial_backoff (", absl::FormatDuration(initial_backoff),
        ") is longer than retry_policy.max_backoff (",
        absl::FormatDuration(max_backoff), ")"));
  }
  if (!(multiplier >= 1 && multiplier <= kMaxMultiplier)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "retry_policy.multiplier must be from 1 to ", kMaxMultiplier,
        " (0 for the default, 2), got ", multiplier));
  }
  if (!(jitter >= 0 && jitter <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("retry_policy.jitter must be from 0 to 1, got ", jitter));
  }
  return absl::OkStatus();
}

bool RetryPolicy::Retries(const TaskError& error, int attempt) const {
  return attempt < max_attempts && std::find(retry_on.begin(), retry_on.end(),
                                             error.type) != retry_on.end();
}

absl::Duration RetryPolicy::BackoffBefore(int attempt,
                                          double unit_random) const {
  const double growth = std::pow(multiplier, std::max(attempt - 2, 0));
  // In seconds, as a double: no overflow however large the power grows.
  const double seconds =
      std::min(absl::ToDoubleSeconds(initial_backoff) * growth,
               absl::ToDoubleSeconds(max_backoff));
  return absl::Seconds(seconds * (1 - jitter * unit_random));
}

}  // namespace futured::server
