#include "server/worker/worker_protocol.h"

#include <type_traits>
#include <variant>

namespace futured::server {

void ToWire(const Outcome& outcome, internal::TaskResult* out) {
  std::visit(
      [out](const auto& o) {
        using T = std::decay_t<decltype(o)>;
        if constexpr (std::is_same_v<T, google::protobuf::Value>) {
          *out->mutable_value() = o;
        } else if constexpr (std::is_same_v<T, TaskError>) {
          internal::TaskError* error = out->mutable_error();
          error->set_type(o.type);
          error->set_message(o.message);
          *error->mutable_details() = o.details;
        } else {
          out->set_cancelled(true);
        }
      },
      outcome);
}

Outcome FromWire(const internal::TaskResult& result) {
  switch (result.outcome_case()) {
    case internal::TaskResult::kValue:
      return result.value();
    case internal::TaskResult::kError:
      return TaskError{.type = result.error().type(),
                       .message = result.error().message(),
                       .details = result.error().details()};
    case internal::TaskResult::kCancelled:
      return Cancelled{};
    case internal::TaskResult::OUTCOME_NOT_SET:
      break;
  }
  return TaskError{.type = "WorkerProtocolError",
                   .message = "the worker sent a result with no outcome"};
}

}  // namespace futured::server
