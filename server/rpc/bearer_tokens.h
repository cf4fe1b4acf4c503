// The bearer tokens the daemon accepts, and the principal each one names.
#ifndef FUTURED_SERVER_RPC_BEARER_TOKENS_H_
#define FUTURED_SERVER_RPC_BEARER_TOKENS_H_

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace futured::server {

// Maps bearer tokens to principals, from a token file (--auth_tokens_file):
//
//   # comment lines and blank lines are skipped
//   alice  3q2+7w...      one "PRINCIPAL TOKEN" pair a line
//   alice  Zk9...         a principal may have several tokens (rotation)
//
// A principal is 1-128 of [A-Za-z0-9._@-]; a token is 16-1024 printable
// ASCII characters without spaces; the same token twice is an error. Only
// SHA-256 digests of the tokens are kept. Immutable once made, so
// thread-safe.
class BearerTokens {
 public:
  // Parses a token file's text. Errors name the line ("line 3: ...") and
  // never quote a token.
  static absl::StatusOr<BearerTokens> Parse(absl::string_view text);

  // Reads and parses the file at `path`. FAILED_PRECONDITION for a file
  // that others may read or write (mode & 0007), or that is not a regular
  // file; NOT_FOUND etc. when it cannot be read. Messages name the path.
  static absl::StatusOr<BearerTokens> Load(const std::string& path);

  // The principal `token` names, if any. The time taken does not depend on
  // which entry matches or how much of a token is right: the token's
  // SHA-256 digest is compared with CRYPTO_memcmp against every entry.
  std::optional<std::string> PrincipalFor(absl::string_view token) const;

  size_t size() const { return entries_.size(); }

 private:
  using Digest = std::array<unsigned char, 32>;
  struct Entry {
    std::string principal;
    Digest digest;
  };

  static Digest DigestOf(absl::string_view token);

  std::vector<Entry> entries_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_RPC_BEARER_TOKENS_H_
