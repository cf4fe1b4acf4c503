#include "server/rpc/server_security.h"

#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "grpcpp/security/server_credentials.h"
#include "server/rpc/bearer_tokens.h"

namespace futured::server::rpc {
namespace {

absl::StatusOr<std::string> ReadPem(const FileSetting& setting) {
  std::ifstream in(setting.path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting.name, ": cannot open ", setting.path));
  }
  std::stringstream text;
  text << in.rdbuf();
  if (!absl::StrContains(text.str(), "-----BEGIN ")) {
    return absl::InvalidArgumentError(
        absl::StrCat(setting.name, ": ", setting.path, " holds no PEM block"));
  }
  return text.str();
}

absl::StatusOr<grpc::SslServerCredentialsOptions> TlsOptions(
    const SecuritySettings& settings) {
  absl::StatusOr<std::string> cert = ReadPem(settings.tls_cert);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPem(settings.tls_key);
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options;
  options.pem_key_cert_pairs.push_back({*std::move(key), *std::move(cert)});
  if (!settings.tls_client_ca.path.empty()) {
    absl::StatusOr<std::string> ca = ReadPem(settings.tls_client_ca);
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *std::move(ca);
    options.client_certificate_request =
        GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return options;
}

absl::Status CheckCombination(const SecuritySettings& settings) {
  if (settings.tls_cert.path.empty() != settings.tls_key.path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(settings.tls_cert.name, " and ", settings.tls_key.name,
                     " go together: give both or neither"));
  }
  if (!settings.tls_client_ca.path.empty() && settings.tls_cert.path.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(settings.tls_client_ca.name, " needs ",
                     settings.tls_cert.name, " and ", settings.tls_key.name,
                     " (client certificates are checked only over TLS)"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string ServerSecurity::Describe() const {
  std::vector<std::string> parts;
  parts.push_back(!tls                         ? "plaintext"
                  : policy.client_certificates ? "TLS with client certificates"
                                               : "TLS");
  if (policy.tokens != nullptr) {
    parts.push_back(
        absl::StrCat("bearer tokens (", policy.tokens->size(), ")"));
  }
  if (!policy.enabled()) parts.push_back("no authentication");
  return absl::StrJoin(parts, ", ");
}

absl::StatusOr<ServerSecurity> LoadServerSecurity(
    const SecuritySettings& settings) {
  if (absl::Status s = CheckCombination(settings); !s.ok()) return s;
  ServerSecurity security;
  if (!settings.tokens_file.path.empty()) {
    absl::StatusOr<BearerTokens> tokens =
        BearerTokens::Load(settings.tokens_file.path);
    if (!tokens.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          settings.tokens_file.name, ": ", tokens.status().message()));
    }
    security.policy.tokens =
        std::make_shared<const BearerTokens>(*std::move(tokens));
  }
  if (settings.tls_cert.path.empty()) return security;
  absl::StatusOr<grpc::SslServerCredentialsOptions> tls = TlsOptions(settings);
  if (!tls.ok()) return tls.status();
  security.tls = *std::move(tls);
  security.policy.client_certificates = !settings.tls_client_ca.path.empty();
  return security;
}

std::shared_ptr<grpc::ServerCredentials> ServerSecurity::Credentials() const {
  if (!tls.has_value()) return grpc::InsecureServerCredentials();
  return grpc::SslServerCredentials(*tls);
}

bool IsLocalListenAddress(absl::string_view listen) {
  if (absl::StartsWith(listen, "unix:") ||
      absl::StartsWith(listen, "unix-abstract:")) {
    return true;
  }
  const size_t colon = listen.rfind(':');
  absl::string_view host =
      colon == absl::string_view::npos ? listen : listen.substr(0, colon);
  if (absl::ConsumePrefix(&host, "[")) absl::ConsumeSuffix(&host, "]");
  return host == "localhost" || host == "::1" || absl::StartsWith(host, "127.");
}

}  // namespace futured::server::rpc
