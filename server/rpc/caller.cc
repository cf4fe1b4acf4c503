#include "server/rpc/caller.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace futured::server::rpc {
namespace {

constexpr absl::string_view kBearerPrefix = "bearer ";
// The peer property gRPC's TLS fills with a verified certificate's CN.
constexpr char kCommonNameProperty[] = "x509_common_name";

absl::StatusOr<std::string> FromToken(const ClientMetadata& metadata,
                                      const BearerTokens& tokens) {
  auto it = metadata.find("authorization");
  if (it == metadata.end()) {
    return absl::UnauthenticatedError(
        "missing credentials: send the metadata 'authorization: Bearer "
        "<token>'");
  }
  const absl::string_view value(it->second.data(), it->second.size());
  if (!absl::StartsWithIgnoreCase(value, kBearerPrefix)) {
    return absl::UnauthenticatedError(
        "the authorization metadata is not 'Bearer <token>'");
  }
  const absl::string_view token =
      absl::StripAsciiWhitespace(value.substr(kBearerPrefix.size()));
  std::optional<std::string> principal = tokens.PrincipalFor(token);
  if (!principal.has_value()) {
    return absl::UnauthenticatedError("invalid bearer token");
  }
  return *std::move(principal);
}

absl::StatusOr<std::string> FromCertificate(const grpc::AuthContext* auth) {
  if (auth == nullptr || !auth->IsPeerAuthenticated()) {
    return absl::UnauthenticatedError(
        "no verified client certificate: connect with TLS and a certificate "
        "signed by the daemon's --tls_client_ca");
  }
  const std::vector<grpc::string_ref> names =
      auth->FindPropertyValues(kCommonNameProperty);
  if (names.empty() || names.front().empty()) {
    return absl::UnauthenticatedError(
        "the client certificate has no subject common name (CN)");
  }
  return std::string(names.front().data(), names.front().size());
}

}  // namespace

absl::StatusOr<std::string> CallerPrincipal(const ClientMetadata& metadata,
                                            const grpc::AuthContext* auth,
                                            const CallerPolicy& policy) {
  if (policy.client_certificates) {
    absl::StatusOr<std::string> certified = FromCertificate(auth);
    if (!certified.ok() || policy.tokens == nullptr) return certified;
  }
  if (policy.tokens != nullptr) return FromToken(metadata, *policy.tokens);
  return std::string();
}

absl::StatusOr<std::string> CallerPrincipal(
    const grpc::ServerContextBase& context, const CallerPolicy& policy) {
  if (!policy.enabled()) return std::string();
  const std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  return CallerPrincipal(context.client_metadata(), auth.get(), policy);
}

}  // namespace futured::server::rpc
