// Whether the daemon has what an example needs: a task function.
// Each asks the daemon (one call; throws futured::RpcError when it cannot be
// reached). Thread-safe.
#ifndef FUTURED_EXAMPLES_COMMON_DAEMON_FEATURES_H_
#define FUTURED_EXAMPLES_COMMON_DAEMON_FEATURES_H_

#include <string_view>

#include "futured/client.h"

namespace futured::examples {

// True if the daemon has a task function named `function`, e.g. "http.get".
bool HasFunction(const Client& client, std::string_view function);

}  // namespace futured::examples

#endif  // FUTURED_EXAMPLES_COMMON_DAEMON_FEATURES_H_
