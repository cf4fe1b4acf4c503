// futurectl's credential flags: a bearer token, TLS, a client certificate.
#ifndef FUTURED_CLIENT_FUTURECTL_CREDENTIAL_ARGS_H_
#define FUTURED_CLIENT_FUTURECTL_CREDENTIAL_ARGS_H_

#include <string>

#include "CLI/CLI.hpp"
#include "futured/credentials.h"

namespace futured::ctl {

// The credential flags as given (paths, not contents).
struct CredentialArgs {
  std::string token_file;  // --token-file, $FUTURED_TOKEN_FILE
  bool tls = false;        // --tls
  std::string tls_ca;      // --tls-ca, $FUTURED_TLS_CA
  std::string tls_cert;    // --tls-cert, $FUTURED_TLS_CERT
  std::string tls_key;     // --tls-key, $FUTURED_TLS_KEY
};

// Adds --token-file, --tls, --tls-ca, --tls-cert and --tls-key to `app`.
void AddCredentialOptions(CLI::App& app, CredentialArgs& args);

// The credentials `args` describe. The token comes from --token-file, else
// from $FUTURED_TOKEN (there is no --token flag: a command line is visible
// to every user in ps). TLS is on with --tls or any --tls-* file. Throws
// futured::Error for a file that cannot be read or --tls-cert without
// --tls-key (or the other way round).
Credentials LoadCredentials(const CredentialArgs& args);

}  // namespace futured::ctl

#endif  // FUTURED_CLIENT_FUTURECTL_CREDENTIAL_ARGS_H_
