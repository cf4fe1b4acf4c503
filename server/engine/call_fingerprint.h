// Telling a retried request from another call under the same request ID.
#ifndef FUTURED_SERVER_ENGINE_CALL_FINGERPRINT_H_
#define FUTURED_SERVER_ENGINE_CALL_FINGERPRINT_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/task/task_registry.h"

namespace futured::server {

// A hash of a bound call: function, pool, arguments and timeout. Values are
// serialized deterministically (an object's keys in order), so equal calls
// hash equally. Stable within one process only (abseil's hash is seeded per
// process): compute it again after a restart, never store it.
uint64_t CallFingerprint(absl::string_view function, absl::string_view pool,
                         const BoundArgs& args,
                         std::optional<absl::Duration> timeout);

}  // namespace futured::server

#endif  // FUTURED_SERVER_ENGINE_CALL_FINGERPRINT_H_
