#include "common/daemon_features.h"

#include <string_view>

#include "futured/client.h"
#include "futured/info.h"

namespace futured::examples {

bool HasPool(const Client& client, std::string_view pool) {
  for (const PoolStats& stats : client.stats().pools) {
    if (stats.name == pool) return true;
  }
  return false;
}

bool HasFunction(const Client& client, std::string_view function) {
  for (const FunctionInfo& info : client.functions()) {
    if (info.name == function) return true;
  }
  return false;
}

}  // namespace futured::examples
