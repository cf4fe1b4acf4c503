// The gRPC channel a Client opens, for programs that also call the daemon's
// other gRPC services (e.g. grpc.health.v1) with the same target and
// credentials. The rest of the library keeps gRPC out of its headers.
#ifndef FUTURED_CLIENT_INCLUDE_FUTURED_CHANNEL_H_
#define FUTURED_CLIENT_INCLUDE_FUTURED_CHANNEL_H_

#include <cstddef>
#include <memory>
#include <string>

#include "futured/client.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace futured {

// A new channel to `target` with `options.credentials`: TLS when set, and
// the bearer token added to every call's metadata. Never blocks (connecting
// is lazy). Calls are spread over every address `target` names (gRPC's
// round_robin: a list "10.0.0.1:50051,10.0.0.2:50051", or
// "dns:///futured.example:50051" with several addresses), and a call that
// is safe to repeat (GetFuture, Result, Wait, Cancel, Release,
// ListFunctions, GetStats, Health/Check) and fails UNAVAILABLE is retried,
// on another node if there is one, up to 5 attempts in all.
std::shared_ptr<grpc::Channel> NewChannel(const std::string& target,
                                          const ClientOptions& options);

// The gRPC target name for `target`: a comma-separated list of numeric
// addresses ("127.0.0.1:1,127.0.0.1:2", or "[::1]:1,[::1]:2") becomes
// gRPC's "ipv4:..." ("ipv6:...") form, starting at its `rotate_by`-th
// address (modulo their number) and wrapping around; anything else is
// returned as is. NewChannel rotates by a random number.
std::string ChannelTarget(const std::string& target, size_t rotate_by = 0);

}  // namespace futured

#endif  // FUTURED_CLIENT_INCLUDE_FUTURED_CHANNEL_H_
