// The gRPC channel a Client opens, for programs that also call the daemon's
// other gRPC services (e.g. grpc.health.v1) with the same target and
// credentials. The rest of the library keeps gRPC out of its headers.
#ifndef FUTURED_CLIENT_INCLUDE_FUTURED_CHANNEL_H_
#define FUTURED_CLIENT_INCLUDE_FUTURED_CHANNEL_H_

#include <memory>
#include <string>

#include "futured/client.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace futured {

// A new channel to `target` with `options.credentials`: TLS when set, and
// the bearer token added to every call's metadata. Never blocks (connecting
// is lazy).
std::shared_ptr<grpc::Channel> NewChannel(const std::string& target,
                                          const ClientOptions& options);

}  // namespace futured

#endif  // FUTURED_CLIENT_INCLUDE_FUTURED_CHANNEL_H_
