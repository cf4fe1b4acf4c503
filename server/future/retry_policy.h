// A per-call retry policy, and the failed attempts a retried future keeps.
#ifndef FUTURED_SERVER_FUTURE_RETRY_POLICY_H_
#define FUTURED_SERVER_FUTURE_RETRY_POLICY_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/task/outcome.h"

namespace futured::server {

// When a failed task runs again (futured.v1.RetryPolicy, whose comment has
// the semantics): how many attempts in all, which error types are retried,
// and the exponential backoff with jitter between attempts. A value type.
struct RetryPolicy {
  // Validate()'s bounds, which the API documents.
  static constexpr int kMaxAttempts = 100;
  static constexpr int kMaxRetryOn = 32;
  static constexpr size_t kMaxTypeBytes = 128;
  static constexpr absl::Duration kMaxBackoff = absl::Hours(1);
  static constexpr double kMaxMultiplier = 10;

  int max_attempts = 3;               // the first attempt included
  std::vector<std::string> retry_on;  // error types, compared exactly
  absl::Duration initial_backoff = absl::Seconds(1);
  absl::Duration max_backoff = absl::Seconds(60);
  double multiplier = 2;
  double jitter = 0.5;  // the random share of each wait, in [0, 1]

  // OK, or INVALID_ARGUMENT naming the field (as "retry_policy.<field>")
  // that is out of the bounds above.
  absl::Status Validate() const;

  // Whether an attempt that failed with `error` may be followed by another
  // when it was attempt number `attempt` (1 for the first).
  bool Retries(const TaskError& error, int attempt) const;

  // The wait before attempt `attempt` (2 or more): initial_backoff times
  // multiplier^(attempt - 2), at most max_backoff, shortened by up to
  // `jitter` of itself in proportion to `unit_random` (in [0, 1)).
  absl::Duration BackoffBefore(int attempt, double unit_random) const;

  friend bool operator==(const RetryPolicy&, const RetryPolicy&) = default;
};

// One failed attempt of a future that was tried again.
struct AttemptError {
  int attempt = 1;  // 1 for the first
  TaskError error = {};
  std::optional<absl::Time> start_time = std::nullopt;  // unset if none
  absl::Time end_time = {};
  int worker_pid = 0;  // the process that ran it; 0 in a thread pool
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_FUTURE_RETRY_POLICY_H_
