// Future IDs: unguessable strings.
#ifndef FUTURED_COMMON_FUTURE_ID_H_
#define FUTURED_COMMON_FUTURE_ID_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace futured {

// A new random UUID (version 4: 122 random bits from the kernel's CSPRNG),
// e.g. "3f2b8c1e-6d4a-4f0e-9b7c-2a1d5e8f9c03". Thread-safe; each thread
// draws its bytes from its own buffer, refilled by one getrandom() call per
// 256 IDs.
std::string NewFutureId();

// INVALID_ARGUMENT for an empty ID or one longer than any ID futured makes;
// the ID's content is otherwise opaque (an unknown one is NOT_FOUND later).
absl::Status ValidateFutureId(absl::string_view id);

}  // namespace futured

#endif  // FUTURED_COMMON_FUTURE_ID_H_
