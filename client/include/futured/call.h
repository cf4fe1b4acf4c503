// Call: one call of a registered task function, with Python's positional
// and keyword arguments, an optional server-side deadline, an optional
// request ID for safe retries and an optional retry policy.
//
//   executor.submit<std::string>(futured::Call("simulate_download")
//                                    .kwarg("url", "http://example.com")
//                                    .kwarg("seconds", 1)
//                                    .timeout(absl::Seconds(5)));
//
// A value type; thread-compatible. Argument conversion (value.h) happens in
// arg()/kwarg() and throws ValueError there.
#ifndef FUTURED_CLIENT_INCLUDE_FUTURED_CALL_H_
#define FUTURED_CLIENT_INCLUDE_FUTURED_CALL_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "futured/value.h"
#include "google/protobuf/struct.pb.h"

namespace futured {

// When the daemon runs a failed task again (futured.v1.RetryPolicy, whose
// comment in executor.proto has the whole contract; docs/api.md too). An
// attempt that raises one of `retry_on` while attempts are left sends the
// future back to PENDING, and it runs again after a backoff: the first
// wait is `initial_backoff`, each next one `multiplier` times longer, at
// most `max_backoff`, each shortened at random by up to `jitter` of itself.
// The Call's timeout covers every attempt. "WorkerDiedError" retries a
// killed process-pool worker; "InterruptedError" runs a task that was
// running when the daemon stopped again after the restart (at least once).
struct RetryPolicy {
  int max_attempts = 3;               // the first included; 1 to 100
  std::vector<std::string> retry_on;  // error types; required
  absl::Duration initial_backoff = absl::Seconds(1);  // at most 1 h
  absl::Duration max_backoff = absl::Seconds(60);     // at most 1 h
  double multiplier = 2;                              // 1 to 10
  double jitter = 0.5;                                // 0 to 1
};

class Call {
 public:
  // `function` is a name from Client::functions(), e.g. "sleep".
  explicit Call(std::string function) : function_(std::move(function)) {}

  // Appends a positional argument.
  template <class T>
  Call& arg(const T& value) {
    args_.push_back(ToValue(value));
    return *this;
  }
  // Sets a keyword argument.
  template <class T>
  Call& kwarg(const std::string& name, const T& value) {
    (*kwargs_.mutable_fields())[name] = ToValue(value);
    return *this;
  }
  // The daemon's deadline for the task: when it passes, the future fails
  // with a TaskError of type "TimeoutError", queued or running. Not Python;
  // unset by default.
  Call& timeout(absl::Duration timeout) {
    timeout_ = timeout;
    return *this;
  }

  // Makes submitting this call idempotent: a client-chosen ID (at most 128
  // bytes; a UUID is a good choice). A submit repeated with the same
  // request ID and the same call (say, after an RpcError UNAVAILABLE or
  // DEADLINE_EXCEEDED left you unsure whether the first got through) returns
  // a future with the first one's ID and runs nothing, for as long as the
  // daemon keeps that future, even when it is done. The same request ID
  // with a different call throws RpcError ALREADY_EXISTS. Not for run(),
  // which throws RpcError INVALID_ARGUMENT. Unset by default.
  Call& request_id(std::string request_id) {
    request_id_ = std::move(request_id);
    return *this;
  }

  // Runs the task again when an attempt fails with an error the policy
  // names (see RetryPolicy). A policy the daemon finds out of bounds makes
  // submit throw RpcError INVALID_ARGUMENT. Unset by default: one attempt.
  Call& retry(RetryPolicy policy) {
    retry_ = std::move(policy);
    return *this;
  }

  const std::string& function() const { return function_; }
  const std::vector<Value>& args() const { return args_; }
  const google::protobuf::Struct& kwargs() const { return kwargs_; }
  const std::optional<absl::Duration>& timeout() const { return timeout_; }
  const std::string& request_id() const { return request_id_; }
  const std::optional<RetryPolicy>& retry() const { return retry_; }

 private:
  std::string function_;
  std::vector<Value> args_;
  google::protobuf::Struct kwargs_;
  std::optional<absl::Duration> timeout_;
  std::string request_id_;
  std::optional<RetryPolicy> retry_;
};

}  // namespace futured

#endif  // FUTURED_CLIENT_INCLUDE_FUTURED_CALL_H_
