// Credentials a Client presents to a futured daemon that asks for them
// (README "Authentication and TLS"):
//
//   futured::ClientOptions options;
//   options.credentials.bearer_token = futured::ReadTokenFile("alice.token");
//   options.credentials.tls = futured::TlsOptions{
//       .root_certs_pem = futured::ReadCredentialFile("ca.pem")};
//   futured::Client client("futured.example:50051", options);
#ifndef FUTURED_CLIENT_INCLUDE_FUTURED_CREDENTIALS_H_
#define FUTURED_CLIENT_INCLUDE_FUTURED_CREDENTIALS_H_

#include <optional>
#include <string>

namespace futured {

// TLS to the daemon. PEM text, not paths (ReadCredentialFile reads a file).
struct TlsOptions {
  // CA certificate(s) the daemon's certificate must be signed by; empty:
  // the system's roots (gRPC's default).
  std::string root_certs_pem = {};
  // A client certificate and its key, for a daemon that requires one
  // (mutual TLS, --tls_client_ca); both or neither.
  std::string client_cert_pem = {};
  std::string client_key_pem = {};
};

struct Credentials {
  // Sent with every call as `authorization: Bearer <token>` (over TLS or
  // plaintext); empty: none.
  std::string bearer_token = {};
  // Unset: plaintext (the default, for a loopback or unix-socket daemon).
  std::optional<TlsOptions> tls;
};

// The contents of the file at `path`. Throws futured::Error naming the file
// when it cannot be read.
std::string ReadCredentialFile(const std::string& path);

// The token in a token file: its contents without surrounding whitespace
// (so a trailing newline does not matter). Throws futured::Error when the
// file cannot be read or holds no token.
std::string ReadTokenFile(const std::string& path);

}  // namespace futured

#endif  // FUTURED_CLIENT_INCLUDE_FUTURED_CREDENTIALS_H_
