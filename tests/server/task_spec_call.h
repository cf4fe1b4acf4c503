// Calls one TaskSpec the way the daemon does (BindArgs, then the spec's
// validate hook, then its function), for tests of single tasks.
//
// Header-only: each unit test is one executable of its own *_test.cc.
#ifndef FUTURED_TESTS_SERVER_TASK_SPEC_CALL_H_
#define FUTURED_TESTS_SERVER_TASK_SPEC_CALL_H_

#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "server/task/cancellation_token.h"
#include "server/task/outcome.h"
#include "server/task/task_context.h"
#include "server/task/task_registry.h"

namespace futured::testing {

// What Submit would answer for these arguments: the bound arguments, or
// the status of BindArgs or of the spec's validate hook.
inline absl::StatusOr<server::BoundArgs> Prepare(
    const server::TaskSpec& spec, const google::protobuf::Struct& kwargs) {
  absl::StatusOr<server::BoundArgs> bound = server::BindArgs(
      spec, google::protobuf::RepeatedPtrField<google::protobuf::Value>(),
      kwargs);
  if (!bound.ok() || !spec.validate) return bound;
  if (absl::Status valid = spec.validate(*bound); !valid.ok()) return valid;
  return bound;
}

// Prepares and runs `spec` on this thread; a failed Prepare is returned as
// a TaskError of type "Submit" carrying the status text.
inline server::Outcome RunTask(const server::TaskSpec& spec,
                               const google::protobuf::Struct& kwargs,
                               const server::CancellationToken& token,
                               absl::Time deadline = absl::InfiniteFuture()) {
  absl::StatusOr<server::BoundArgs> bound = Prepare(spec, kwargs);
  if (!bound.ok()) {
    return server::TaskError{.type = "Submit",
                             .message = bound.status().ToString()};
  }
  const server::TaskContext ctx(token, deadline);
  return spec.function(ctx, *bound);
}

// A field of an object outcome; an empty Value if there is none.
inline google::protobuf::Value Field(const server::Outcome& outcome,
                                     const std::string& key) {
  const auto* value = std::get_if<google::protobuf::Value>(&outcome);
  if (value == nullptr) return {};
  const auto& fields = value->struct_value().fields();
  const auto it = fields.find(key);
  return it == fields.end() ? google::protobuf::Value() : it->second;
}

// "TaskError FileNotFoundError: ...", "Cancelled", or the value as text:
// for failure messages.
inline std::string Describe(const server::Outcome& outcome) {
  if (const auto* error = std::get_if<server::TaskError>(&outcome)) {
    return "TaskError " + error->type + ": " + error->message;
  }
  if (std::holds_alternative<server::Cancelled>(outcome)) return "Cancelled";
  return std::get<google::protobuf::Value>(outcome).ShortDebugString();
}

}  // namespace futured::testing

#endif  // FUTURED_TESTS_SERVER_TASK_SPEC_CALL_H_
