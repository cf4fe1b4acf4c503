#include "credential_args.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "futured/errors.h"

namespace futured::ctl {

void AddCredentialOptions(CLI::App& app, CredentialArgs& args) {
  app.add_option("--token-file", args.token_file,
                 "a file holding the bearer token (else $FUTURED_TOKEN)")
      ->envname("FUTURED_TOKEN_FILE");
  app.add_flag("--tls", args.tls,
               "connect with TLS (implied by --tls-ca, --tls-cert)");
  app.add_option("--tls-ca", args.tls_ca,
                 "PEM CA certificate the daemon's certificate is signed by "
                 "(default: the system's roots)")
      ->envname("FUTURED_TLS_CA");
  app.add_option("--tls-cert", args.tls_cert,
                 "PEM client certificate, for a daemon with --tls_client_ca")
      ->envname("FUTURED_TLS_CERT");
  app.add_option("--tls-key", args.tls_key, "PEM key of --tls-cert")
      ->envname("FUTURED_TLS_KEY");
}

Credentials LoadCredentials(const CredentialArgs& args) {
  Credentials credentials;
  if (!args.token_file.empty()) {
    credentials.bearer_token = ReadTokenFile(args.token_file);
  } else if (const char* token = std::getenv("FUTURED_TOKEN")) {
    credentials.bearer_token = std::string(absl::StripAsciiWhitespace(token));
  }
  if (args.tls_cert.empty() != args.tls_key.empty()) {
    throw Error("--tls-cert and --tls-key go together: give both or neither");
  }
  if (!args.tls && args.tls_ca.empty() && args.tls_cert.empty()) {
    return credentials;
  }
  TlsOptions& tls = credentials.tls.emplace();
  if (!args.tls_ca.empty())
    tls.root_certs_pem = ReadCredentialFile(args.tls_ca);
  if (!args.tls_cert.empty()) {
    tls.client_cert_pem = ReadCredentialFile(args.tls_cert);
    tls.client_key_pem = ReadCredentialFile(args.tls_key);
  }
  return credentials;
}

}  // namespace futured::ctl
