#include "server/rpc/bearer_tokens.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace futured::server {
namespace {

constexpr size_t kMaxPrincipalSize = 128;
constexpr size_t kMinTokenSize = 16;
constexpr size_t kMaxTokenSize = 1024;
constexpr size_t kMaxFileSize = 1 << 20;

bool IsPrincipalChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '_' || c == '@' || c == '-';
}

absl::Status LineError(int line, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", what));
}

absl::Status CheckPrincipal(int line, absl::string_view principal) {
  if (principal.size() > kMaxPrincipalSize) {
    return LineError(line, absl::StrCat("principal is longer than ",
                                        kMaxPrincipalSize, " characters"));
  }
  for (char c : principal) {
    if (!IsPrincipalChar(c)) {
      return LineError(line, absl::StrCat("principal '", principal,
                                          "' may hold only letters, digits "
                                          "and . _ @ -"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckToken(int line, absl::string_view token) {
  if (token.size() < kMinTokenSize || token.size() > kMaxTokenSize) {
    return LineError(line, absl::StrCat("the token must have ", kMinTokenSize,
                                        " to ", kMaxTokenSize,
                                        " characters, it has ", token.size()));
  }
  for (char c : token) {
    if (c < '!' || c > '~') {
      return LineError(line,
                       "the token may hold only printable ASCII characters");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadAll(int fd, const std::string& path) {
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::InternalError(
          absl::StrCat("cannot read ", path, ": ", strerror(errno)));
    }
    if (n == 0) return text;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxFileSize) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " is larger than ", kMaxFileSize, " bytes"));
    }
  }
}

}  // namespace

absl::StatusOr<BearerTokens> BearerTokens::Parse(absl::string_view text) {
  BearerTokens tokens;
  std::vector<int> line_of_entry;
  int line = 0;
  for (absl::string_view raw : absl::StrSplit(text, '\n')) {
    ++line;
    const absl::string_view content = absl::StripAsciiWhitespace(raw);
    if (content.empty() || content.front() == '#') continue;
    const std::vector<absl::string_view> fields =
        absl::StrSplit(content, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 2) {
      return LineError(line, absl::StrCat("expected 'PRINCIPAL TOKEN', got ",
                                          fields.size(), " fields"));
    }
    if (absl::Status s = CheckPrincipal(line, fields[0]); !s.ok()) return s;
    if (absl::Status s = CheckToken(line, fields[1]); !s.ok()) return s;
    const Digest digest = DigestOf(fields[1]);
    for (size_t i = 0; i < tokens.entries_.size(); ++i) {
      if (tokens.entries_[i].digest == digest) {
        return LineError(
            line, absl::StrCat("the same token as line ", line_of_entry[i]));
      }
    }
    tokens.entries_.push_back(
        Entry{.principal = std::string(fields[0]), .digest = digest});
    line_of_entry.push_back(line);
  }
  if (tokens.entries_.empty()) {
    return absl::InvalidArgumentError("no 'PRINCIPAL TOKEN' line");
  }
  return tokens;
}

absl::StatusOr<BearerTokens> BearerTokens::Load(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    return absl::Status(
        errno == ENOENT ? absl::StatusCode::kNotFound
                        : absl::StatusCode::kFailedPrecondition,
        absl::StrCat("cannot open ", path, ": ", strerror(errno)));
  }
  absl::Cleanup closer = [fd] { close(fd); };
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " is not a regular file"));
  }
  if ((st.st_mode & S_IRWXO) != 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("%s is readable or writable by others (mode %04o); "
                        "run chmod o-rwx on it",
                        path, st.st_mode & 07777));
  }
  absl::StatusOr<std::string> text = ReadAll(fd, path);
  if (!text.ok()) return text.status();
  absl::StatusOr<BearerTokens> tokens = Parse(*text);
  if (!tokens.ok()) {
    return absl::Status(tokens.status().code(),
                        absl::StrCat(path, ": ", tokens.status().message()));
  }
  return tokens;
}

std::optional<std::string> BearerTokens::PrincipalFor(
    absl::string_view token) const {
  const Digest digest = DigestOf(token);
  const Entry* match = nullptr;
  for (const Entry& entry : entries_) {
    // Every entry is compared, whatever matched before.
    const bool equal =
        CRYPTO_memcmp(entry.digest.data(), digest.data(), digest.size()) == 0;
    if (equal) match = &entry;
  }
  if (match == nullptr) return std::nullopt;
  return match->principal;
}

BearerTokens::Digest BearerTokens::DigestOf(absl::string_view token) {
  Digest digest;
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(),
         digest.data());
  return digest;
}

}  // namespace futured::server
