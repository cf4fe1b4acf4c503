// How a task ends: its value, the error it raised, or cancelled.
#ifndef FUTURED_SERVER_TASK_OUTCOME_H_
#define FUTURED_SERVER_TASK_OUTCOME_H_

#include <string>
#include <variant>

#include "google/protobuf/struct.pb.h"

namespace futured::server {

// The error a task raised, as Python shows it: `type: message`.
struct TaskError {
  std::string type;  // e.g. "ValueError", "TimeoutError"
  std::string message = {};
  google::protobuf::Value details = {};  // unset unless the task adds details
};

// A task that stopped because its cancellation token asked it to.
struct Cancelled {};

// A done future's outcome. Tasks return one of these.
using Outcome = std::variant<google::protobuf::Value, TaskError, Cancelled>;

inline bool IsError(const Outcome& o) {
  return std::holds_alternative<TaskError>(o);
}
inline bool IsCancelled(const Outcome& o) {
  return std::holds_alternative<Cancelled>(o);
}

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASK_OUTCOME_H_
