// Future IDs: unguessable strings.
#ifndef FUTURED_COMMON_FUTURE_ID_H_
#define FUTURED_COMMON_FUTURE_ID_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace futured {

// A new UUID of version 7 (RFC 9562): the Unix time in milliseconds, then
// 74 random bits from the kernel's CSPRNG, e.g.
// "019af6c2-3b1e-7d4a-8f0e-9b7c2a1d5e8f". Unguessable, and in the order they
// were made from one millisecond to the next, so that the journal's index
// on IDs grows at its end. Thread-safe; each thread draws its random bytes
// from its own buffer, refilled by one getrandom() call per 409 IDs.
std::string NewFutureId();

// INVALID_ARGUMENT for an empty ID or one longer than any ID futured makes;
// the ID's content is otherwise opaque (an unknown one is NOT_FOUND later).
absl::Status ValidateFutureId(absl::string_view id);

}  // namespace futured

#endif  // FUTURED_COMMON_FUTURE_ID_H_
