// The client that every future of an as_completed or wait call belongs to.
#ifndef FUTURED_CLIENT_SRC_ONE_CLIENT_H_
#define FUTURED_CLIENT_SRC_ONE_CLIENT_H_

#include <memory>
#include <vector>

#include "client_core.h"
#include "future_proxy.h"
#include "futured/errors.h"

namespace futured::internal {

// The ClientCore of `proxies` (null when empty); throws Error when they
// come from different clients: one call to one daemon serves them all.
inline ClientCore* OneClient(
    const std::vector<std::shared_ptr<FutureProxy>>& proxies) {
  ClientCore* client = nullptr;
  for (const auto& proxy : proxies) {
    if (client != nullptr && &proxy->core() != client) {
      throw Error("futures from different clients in one call");
    }
    client = &proxy->core();
  }
  return client;
}

}  // namespace futured::internal

#endif  // FUTURED_CLIENT_SRC_ONE_CLIENT_H_
