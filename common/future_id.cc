#include "common/future_id.h"

#include <sys/random.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace futured {
namespace {

constexpr size_t kMaxIdLength = 128;
// Random bytes fetched from the kernel per getrandom() call: 409 IDs' worth,
// so that a burst of submits does not make a system call each.
constexpr size_t kRandomBufferBytes = 4096;

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

// Each thread's unused CSPRNG bytes; every byte is handed out once.
struct RandomBuffer {
  std::array<uint8_t, kRandomBufferBytes> bytes;
  size_t used = kRandomBufferBytes;

  void Take(uint8_t* out, size_t size) {
    if (used + size > bytes.size()) {
      FillRandom(bytes.data(), bytes.size());
      used = 0;
    }
    std::memcpy(out, bytes.data() + used, size);
    std::memset(bytes.data() + used, 0, size);  // not kept once handed out
    used += size;
  }
};

}  // namespace

std::string NewFutureId() {
  thread_local RandomBuffer random;
  std::array<uint8_t, 16> b;
  // UUIDv7 (RFC 9562): the Unix time in milliseconds, then 74 random bits.
  const uint64_t millis = absl::ToUnixMillis(absl::Now());
  for (int i = 0; i < 6; ++i)
    b[i] = static_cast<uint8_t>(millis >> (40 - 8 * i));
  random.Take(b.data() + 6, b.size() - 6);
  b[6] = (b[6] & 0x0f) | 0x70;  // version 7
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 9562 variant
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(36, '-');
  size_t out = 0;
  for (size_t i = 0; i < b.size(); ++i) {
    if (out == 8 || out == 13 || out == 18 || out == 23) ++out;  // dashes
    id[out++] = kHex[b[i] >> 4];
    id[out++] = kHex[b[i] & 0x0f];
  }
  return id;
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
