#include "common/daemon_features.h"

#include <string_view>

#include "futured/client.h"
#include "futured/info.h"

namespace futured::examples {

bool HasFunction(const Client& client, std::string_view function) {
  for (const FunctionInfo& info : client.functions()) {
    if (info.name == function) return true;
  }
  return false;
}

}  // namespace futured::examples
