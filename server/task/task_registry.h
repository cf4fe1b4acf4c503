// The task functions the daemon can run, by name, with their argument shapes.
#ifndef FUTURED_SERVER_TASK_TASK_REGISTRY_H_
#define FUTURED_SERVER_TASK_TASK_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "google/protobuf/struct.pb.h"
#include "server/task/outcome.h"
#include "server/task/task_context.h"

namespace futured::server {

// The JSON type a parameter accepts. kInteger is a number with no fraction.
enum class ParamType {
  kAny,
  kNumber,
  kInteger,
  kString,
  kBool,
  kList,
  kObject
};

// "number", "integer", ... as shown to users.
absl::string_view ParamTypeName(ParamType type);

// One parameter of a task function, as in a Python signature.
struct Param {
  std::string name;
  ParamType type = ParamType::kAny;
  // Set for an optional parameter: the value used when it is not given.
  std::optional<google::protobuf::Value> default_value = std::nullopt;
  // Inclusive bounds for kNumber and kInteger parameters.
  std::optional<double> min = std::nullopt;
  std::optional<double> max = std::nullopt;
};

// Arguments after binding: one value per parameter of the task, in the
// task's parameter order, each already checked against its Param.
class BoundArgs {
 public:
  BoundArgs() = default;
  explicit BoundArgs(std::vector<google::protobuf::Value> values)
      : values_(std::move(values)) {}

  size_t size() const { return values_.size(); }
  const google::protobuf::Value& Get(size_t i) const { return values_.at(i); }
  double Number(size_t i) const { return Get(i).number_value(); }
  int64_t Integer(size_t i) const;
  const std::string& String(size_t i) const { return Get(i).string_value(); }
  bool Bool(size_t i) const { return Get(i).bool_value(); }

 private:
  std::vector<google::protobuf::Value> values_;
};

// A task function. Runs on a pool thread; may block; should return
// Cancelled{} promptly once ctx.IsCancelled().
using TaskFunction =
    std::function<Outcome(const TaskContext& ctx, const BoundArgs& args)>;

// Checks bound arguments before a call is queued, beyond what Param can
// say (e.g. "exactly one of path and data", or an allow-list). Its status
// is the Submit call's: INVALID_ARGUMENT, PERMISSION_DENIED, ... Runs on an
// RPC thread: must be quick, must not block, and must be thread-safe.
using ArgsValidator = std::function<absl::Status(const BoundArgs& args)>;

// A registered task: name, one-line description, parameters, function.
struct TaskSpec {
  std::string name;
  std::string description = {};
  std::vector<Param> params;
  TaskFunction function;
  // Optional; run by Engine::Prepare after BindArgs.
  ArgsValidator validate = nullptr;

  // "sleep(seconds: number)", "echo(value: any = null)".
  std::string Signature() const;
};

// Binds Python-style args/kwargs to `spec.params`: positional first, then by
// name, then defaults; checks types and bounds. INVALID_ARGUMENT naming the
// parameter on too many or unknown or duplicate or missing arguments, or a
// wrong type or out-of-range value.
absl::StatusOr<BoundArgs> BindArgs(
    const TaskSpec& spec,
    const google::protobuf::RepeatedPtrField<google::protobuf::Value>& args,
    const google::protobuf::Struct& kwargs);

// Name -> TaskSpec. Filled at start-up, then read-only: Register() is not
// thread-safe; Find() and List() may be called from any thread once
// registration is over.
class TaskRegistry {
 public:
  TaskRegistry() = default;
  TaskRegistry(const TaskRegistry&) = delete;
  TaskRegistry& operator=(const TaskRegistry&) = delete;

  // ALREADY_EXISTS for a taken name; INVALID_ARGUMENT for an empty name, no
  // function, an unnamed or duplicate parameter, a required parameter after
  // an optional one, or a default that its own parameter would reject.
  absl::Status Register(TaskSpec spec);

  // NOT_FOUND naming the function when it is not registered.
  absl::StatusOr<const TaskSpec*> Find(absl::string_view name) const;

  // All tasks, sorted by name.
  std::vector<const TaskSpec*> List() const;

 private:
  std::map<std::string, TaskSpec, std::less<>> specs_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASK_TASK_REGISTRY_H_
