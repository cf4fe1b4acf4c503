// Who a call comes from: the one place the gRPC layer turns a call's
// credentials into the principal the domain sees.
#ifndef FUTURED_SERVER_RPC_CALLER_H_
#define FUTURED_SERVER_RPC_CALLER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/string_ref.h"
#include "server/rpc/bearer_tokens.h"

namespace futured::server::rpc {

// What the daemon asks of a caller. With neither tokens nor client
// certificates, authentication is off and every call is the anonymous
// principal "". With tokens, a call must carry `authorization: Bearer
// <token>` and the token names the principal (with client certificates
// too, the certificate only admits the connection). With client
// certificates alone, the principal is the verified certificate's subject
// CN. Copyable; immutable, so thread-safe.
struct CallerPolicy {
  std::shared_ptr<const BearerTokens> tokens = {};  // null: no token asked for
  bool client_certificates = false;  // TLS verifies a client certificate

  bool enabled() const { return tokens != nullptr || client_certificates; }
};

using ClientMetadata = std::multimap<grpc::string_ref, grpc::string_ref>;

// The principal of a call with `metadata` (its initial metadata) over a
// connection described by `auth` (may be null for a plaintext one).
// UNAUTHENTICATED without valid credentials; never says which part of a
// token was wrong.
absl::StatusOr<std::string> CallerPrincipal(const ClientMetadata& metadata,
                                            const grpc::AuthContext* auth,
                                            const CallerPolicy& policy);

// The same for a call being handled.
absl::StatusOr<std::string> CallerPrincipal(
    const grpc::ServerContextBase& context, const CallerPolicy& policy);

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_CALLER_H_
