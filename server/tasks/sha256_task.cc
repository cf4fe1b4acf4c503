#include "server/tasks/sha256_task.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/os/unique_fd.h"
#include "server/tasks/os_error.h"
#include "server/tasks/result_object.h"

namespace futured::server {
namespace {

using ::google::protobuf::Value;

// Parameter positions.
constexpr size_t kPath = 0;
constexpr size_t kData = 1;
constexpr size_t kDataBase64 = 2;

// Files are read, and cancellation checked, this many bytes at a time.
constexpr size_t kChunkBytes = size_t{1} << 20;

bool IsNull(const Value& v) {
  return v.kind_case() == Value::kNullValue ||
         v.kind_case() == Value::KIND_NOT_SET;
}

// A running SHA-256 computation of one task; frees its OpenSSL context.
// Used by one thread.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    if (ctx_ == nullptr ||
        EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
      ctx_.reset();
    }
  }
  bool ok() const { return ctx_ != nullptr; }

  void Update(const char* data, size_t size) {
    EVP_DigestUpdate(ctx_.get(), data, size);
    bytes_ += size;
  }

  // The result object; ends the computation.
  Outcome Finish() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), digest, &size) != 1) {
      return TaskError{.type = "RuntimeError",
                       .message = "OpenSSL's SHA-256 failed"};
    }
    return ResultObject()
        .String("sha256", absl::BytesToHexString(absl::string_view(
                              reinterpret_cast<const char*>(digest), size)))
        .Number("bytes", static_cast<double>(bytes_))
        .Build();
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
  uint64_t bytes_ = 0;
};

Outcome HashFile(const TaskContext& ctx, const std::string& path, Sha256& sha) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused
  // below anyway.
  const int fd =
      open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return OsError(errno, absl::StrCat("cannot open ", path));
  const UniqueFd closer(fd);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    return OsError(errno, absl::StrCat("cannot stat ", path));
  }
  if (S_ISDIR(st.st_mode)) {
    return OsError(EISDIR, absl::StrCat("cannot hash ", path));
  }
  if (!S_ISREG(st.st_mode)) {
    return TaskError{
        .type = "ValueError",
        .message = absl::StrCat("cannot hash ", path, ": not a regular file")};
  }
  std::vector<char> buffer(kChunkBytes);
  while (true) {
    if (ctx.IsCancelled()) return Cancelled{};
    const ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return OsError(errno, absl::StrCat("cannot read ", path));
    if (n == 0) return sha.Finish();
    sha.Update(buffer.data(), static_cast<size_t>(n));
  }
}

Outcome HashSha256(const TaskContext& ctx, const BoundArgs& args) {
  Sha256 sha;
  if (!sha.ok()) {
    return TaskError{.type = "RuntimeError",
                     .message = "OpenSSL cannot start a SHA-256 digest"};
  }
  if (!IsNull(args.Get(kPath))) return HashFile(ctx, args.String(kPath), sha);
  if (!IsNull(args.Get(kData))) {
    const std::string& data = args.String(kData);
    sha.Update(data.data(), data.size());
    return sha.Finish();
  }
  std::string bytes;
  // Validate() has checked that this decodes.
  absl::Base64Unescape(args.String(kDataBase64), &bytes);
  sha.Update(bytes.data(), bytes.size());
  return sha.Finish();
}

absl::Status Validate(const BoundArgs& args) {
  int given = 0;
  for (const size_t i : {kPath, kData, kDataBase64}) {
    if (IsNull(args.Get(i))) continue;
    ++given;
    if (args.Get(i).kind_case() != Value::kStringValue) {
      return absl::InvalidArgumentError(
          absl::StrCat("hash.sha256() argument '",
                       i == kPath   ? "path"
                       : i == kData ? "data"
                                    : "data_base64",
                       "' must be a string or null"));
    }
  }
  if (given != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "hash.sha256() takes exactly one of path, data and data_base64; ",
        given, " given"));
  }
  if (!IsNull(args.Get(kPath)) && !absl::StartsWith(args.String(kPath), "/")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "hash.sha256() path must be absolute, got '", args.String(kPath), "'"));
  }
  std::string bytes;
  if (!IsNull(args.Get(kDataBase64)) &&
      !absl::Base64Unescape(args.String(kDataBase64), &bytes)) {
    return absl::InvalidArgumentError(
        "hash.sha256() data_base64 is not valid base64");
  }
  return absl::OkStatus();
}

Value Null() {
  Value v;
  v.set_null_value(google::protobuf::NULL_VALUE);
  return v;
}

}  // namespace

TaskSpec Sha256TaskSpec() {
  return TaskSpec{
      .name = "hash.sha256",
      .description =
          "Returns {sha256, bytes}: the SHA-256 hex digest of exactly one of "
          "a file (path, absolute, read by the daemon's user), a string "
          "(data, its UTF-8 bytes) or binary input (data_base64).",
      .params =
          {{.name = "path", .type = ParamType::kAny, .default_value = Null()},
           {.name = "data", .type = ParamType::kAny, .default_value = Null()},
           {.name = "data_base64",
            .type = ParamType::kAny,
            .default_value = Null()}},
      .function = HashSha256,
      .validate = Validate,
  };
}

}  // namespace futured::server
