#include "common/future_id.h"

#include <sys/random.h>

#include <array>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace futured {
namespace {

constexpr size_t kMaxIdLength = 128;

void FillRandom(uint8_t* data, size_t size) {
  while (size > 0) {
    const ssize_t n = getrandom(data, size, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::abort();  // the kernel's CSPRNG is gone; nothing safe to do
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
}

}  // namespace

std::string NewFutureId() {
  std::array<uint8_t, 16> b;
  FillRandom(b.data(), b.size());
  b[6] = (b[6] & 0x0f) | 0x40;  // version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant
  return absl::StrFormat(
      "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
      b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
      b[12], b[13], b[14], b[15]);
}

absl::Status ValidateFutureId(absl::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("future id is empty");
  if (id.size() > kMaxIdLength) {
    return absl::InvalidArgumentError(absl::StrCat("future id is ", id.size(),
                                                   " bytes long; at most ",
                                                   kMaxIdLength, " allowed"));
  }
  return absl::OkStatus();
}

}  // namespace futured
