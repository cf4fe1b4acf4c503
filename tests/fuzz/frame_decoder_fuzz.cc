// Fuzz target: the frame decoder the daemon runs on bytes from its workers.
// The first input byte sets the size of the pieces the rest arrives in, as
// reads from a socket would; the target checks the decoder's contract: it
// never returns a frame over the limit, stays failed after an error, and a
// frame it accepts re-encodes to the same payload.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/frame_codec.h"
#include "futured/internal/worker.pb.h"

namespace {

constexpr size_t kMaxPayloadBytes = 1 << 16;

void Check(bool condition) {
  if (!condition) std::abort();
}

// A decoded message must survive its own encoding and decoding unchanged.
void CheckRoundTrip(const futured::internal::WorkerToDaemon& message) {
  std::string frame;
  if (!futured::EncodeFrame(message, kMaxPayloadBytes, &frame).ok()) return;
  futured::FrameDecoder decoder(kMaxPayloadBytes);
  decoder.Append(frame);
  futured::internal::WorkerToDaemon again;
  absl::StatusOr<bool> next = decoder.Next(&again);
  Check(next.ok() && *next);
  Check(again.SerializeAsString() == message.SerializeAsString());
  Check(decoder.AtEndOfStream().ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 64;
  absl::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  futured::FrameDecoder decoder(kMaxPayloadBytes);
  bool failed = false;
  while (!rest.empty()) {
    const size_t n = std::min(piece, rest.size());
    decoder.Append(rest.substr(0, n));
    rest.remove_prefix(n);
    // Bounded: each successful Next consumes at least a header.
    for (;;) {
      futured::internal::WorkerToDaemon message;
      absl::StatusOr<bool> next = decoder.Next(&message);
      if (!next.ok()) {
        failed = true;
        break;
      }
      Check(!failed);
      if (!*next) break;
      Check(message.ByteSizeLong() <= kMaxPayloadBytes);
      CheckRoundTrip(message);
    }
    if (failed) {
      futured::internal::WorkerToDaemon message;
      Check(!decoder.Next(&message).ok());
      Check(!decoder.AtEndOfStream().ok());
      break;
    }
  }
  if (!failed && decoder.buffered() > 0) {
    Check(!decoder.AtEndOfStream().ok());
  }
  return 0;
}
