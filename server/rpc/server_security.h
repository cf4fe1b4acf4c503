// The daemon's transport security (TLS, mutual TLS) and caller
// authentication (bearer tokens), built from its settings at start-up.
#ifndef FUTURED_SERVER_RPC_SERVER_SECURITY_H_
#define FUTURED_SERVER_RPC_SERVER_SECURITY_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/security/server_credentials.h"
#include "server/rpc/caller.h"

namespace futured::server::rpc {

// One setting: how errors name it (e.g. "--tls_cert (from environment
// variable FUTURED_TLS_CERT)") and its value, a file path ("" when unset).
struct FileSetting {
  std::string name;
  std::string path;
};

struct SecuritySettings {
  FileSetting tokens_file;    // --auth_tokens_file
  FileSetting tls_cert;       // --tls_cert: the server's certificate chain
  FileSetting tls_key;        // --tls_key: its private key
  FileSetting tls_client_ca;  // --tls_client_ca: CA that signs client certs
};

// What the server is built with. Immutable once made. Holds no gRPC object
// (making one initializes gRPC, whose threads must start only after the
// daemon has blocked its stop signals): Credentials() makes them.
struct ServerSecurity {
  // TLS settings (asking for a client certificate with --tls_client_ca);
  // unset: plaintext.
  std::optional<grpc::SslServerCredentialsOptions> tls;
  CallerPolicy policy;

  // The credentials to listen with. Initializes gRPC.
  std::shared_ptr<grpc::ServerCredentials> Credentials() const;

  // For the start-up log line, e.g. "TLS with client certificates, bearer
  // tokens (2 principals)" or "plaintext, no authentication".
  std::string Describe() const;
};

// Reads the files the settings name. INVALID_ARGUMENT (naming the setting,
// and for the token file the line) for a malformed or inconsistent set:
// --tls_cert without --tls_key or the other way round, --tls_client_ca
// without --tls_cert, an unreadable file, a token file others may read.
absl::StatusOr<ServerSecurity> LoadServerSecurity(
    const SecuritySettings& settings);

// Whether a --listen address is reachable only from this machine: a unix
// socket, or a TCP address on a loopback host (127.0.0.0/8, ::1,
// localhost).
bool IsLocalListenAddress(absl::string_view listen);

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_SERVER_SECURITY_H_
