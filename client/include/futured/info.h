// Snapshots the daemon reports: a future's state and times, the registered
// functions, pool statistics. Plain values, copied out of the daemon's
// answers; each also keeps that answer as JSON (`json`), exactly as grpcurl
// would print it, for tools such as futurectl. Thread-compatible.
#ifndef FUTURED_CLIENT_INCLUDE_FUTURED_INFO_H_
#define FUTURED_CLIENT_INCLUDE_FUTURED_INFO_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "futured/errors.h"
#include "futured/value.h"

namespace futured {

// Where a future is in its life (futured.v1.FutureState).
enum class FutureState { kPending, kRunning, kFinished, kCancelled };

// "PENDING", "RUNNING", "FINISHED" or "CANCELLED".
const char* FutureStateName(FutureState state);

// How far a running task is, as it last reported (futured.v1.Progress).
struct Progress {
  double fraction = 0;  // in [0, 1]
  std::string message;
  absl::Time update_time;
};

// One failed attempt of a future that its retry policy ran again
// (futured.v1.AttemptError).
struct AttemptError {
  int attempt = 1;  // 1 for the first
  TaskError error = TaskError("", "");
  std::optional<absl::Time> start_time;  // unset if it never started
  std::optional<absl::Time> end_time;
  int worker_pid = 0;  // process pools only
};

// One future as the daemon last reported it (futured.v1.FutureInfo).
struct FutureInfo {
  std::string id;
  std::string function;
  std::string pool;
  FutureState state = FutureState::kPending;
  // The outcome, when done: exactly one of value / error is set for a
  // FINISHED future; neither for PENDING, RUNNING or CANCELLED.
  std::optional<Value> value;
  std::optional<TaskError> error;
  std::optional<absl::Time> submit_time;
  std::optional<absl::Time> start_time;  // unset if it never started
  std::optional<absl::Time> end_time;    // unset until done
  std::optional<absl::Time> deadline;    // unset without a Submit timeout
  int worker_pid = 0;                    // process pools only
  std::optional<Progress> progress;      // unset until the task reports
  // Its attempt (a retry policy, Call::retry()): 1 for the first, N+1
  // while it waits, PENDING, after N failed ones; start_time, worker_pid
  // and progress are this attempt's.
  int attempt = 1;
  int max_attempts = 1;                        // 1 without a retry policy
  std::vector<AttemptError> earlier_attempts;  // oldest first
  std::string json;                            // the daemon's answer as JSON

  bool done() const {
    return state == FutureState::kFinished || state == FutureState::kCancelled;
  }
};

// A parameter of a registered function.
struct ParameterInfo {
  std::string name;
  std::string type;  // "number", "integer", "string", "bool", "list", ...
  bool required = false;
  std::optional<Value> default_value;  // set when not required
};

// A registered task function (futured.v1.FunctionInfo).
struct FunctionInfo {
  std::string name;
  std::string description;
  std::string signature;  // e.g. "sleep(seconds: number)"
  std::vector<ParameterInfo> parameters;
  std::string json;
};

// One pool's figures (futured.v1.PoolStats).
struct PoolStats {
  std::string name;
  std::string kind;  // "thread" or "process"
  int64_t workers = 0;
  int64_t queued = 0;
  int64_t running = 0;
  int64_t queue_capacity = 0;
  int64_t worker_restarts = 0;
};

// The daemon's figures (futured.v1.GetStatsResponse).
struct Stats {
  std::vector<PoolStats> pools;
  int64_t futures = 0;        // futures in the daemon's table
  int64_t waiting_calls = 0;  // calls now waiting in the daemon
  std::optional<absl::Time> start_time;
  std::string json;
};

}  // namespace futured

#endif  // FUTURED_CLIENT_INCLUDE_FUTURED_INFO_H_
