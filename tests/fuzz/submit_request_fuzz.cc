// Fuzz target: what the daemon does with a Submit request before any task
// runs. The input is a serialized futured.v1.SubmitRequest; the target parses
// it as gRPC would, then checks the timeout, the request ID and the argument
// limits (the defaults and tight ones) and binds the arguments against every
// built-in task, as the service does for the function named. Nothing may
// crash, each check fails only with its documented code, and a successful
// bind yields one value per parameter.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/future_id.h"
#include "futured/v1/executor.pb.h"
#include "server/engine/argument_limits.h"
#include "server/engine/request_index.h"
#include "server/rpc/proto_convert.h"
#include "server/task/task_registry.h"
#include "server/tasks/builtin_tasks.h"

namespace {

const futured::server::TaskRegistry& Registry() {
  static const auto* registry = [] {
    auto* r = new futured::server::TaskRegistry;
    if (!futured::server::RegisterBuiltinTasks(*r).ok()) std::abort();
    return r;
  }();
  return *registry;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  futured::v1::SubmitRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  (void)futured::server::rpc::FromProtoTimeout(request.has_timeout(),
                                               request.timeout(), "timeout");
  (void)futured::ValidateFutureId(request.function());
  const absl::Status request_id =
      futured::server::RequestIndex::ValidateRequestId(request.request_id());
  if (!request_id.ok() &&
      request_id.code() != absl::StatusCode::kInvalidArgument) {
    std::abort();
  }
  for (const futured::server::ArgumentLimits& limits :
       {futured::server::ArgumentLimits{},
        futured::server::ArgumentLimits{.max_depth = 2, .max_bytes = 64}}) {
    const absl::Status within = futured::server::CheckArgumentLimits(
        request.args(), request.kwargs(), limits);
    if (!within.ok() && within.code() != absl::StatusCode::kInvalidArgument &&
        within.code() != absl::StatusCode::kResourceExhausted) {
      std::abort();
    }
  }
  (void)Registry().Find(request.function());
  for (const futured::server::TaskSpec* spec : Registry().List()) {
    absl::StatusOr<futured::server::BoundArgs> bound =
        futured::server::BindArgs(*spec, request.args(), request.kwargs());
    if (bound.ok() && bound->size() != spec->params.size()) std::abort();
    if (!bound.ok() &&
        bound.status().code() != absl::StatusCode::kInvalidArgument) {
      std::abort();
    }
  }
  return 0;
}
