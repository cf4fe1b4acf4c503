// Length-prefixed protobuf frames over a byte stream (a socket or a pipe).
#ifndef FUTURED_COMMON_FRAME_CODEC_H_
#define FUTURED_COMMON_FRAME_CODEC_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"

namespace futured {

// A frame is a 4-byte big-endian payload length, then the payload: one
// serialized protobuf message.
inline constexpr size_t kFrameHeaderBytes = 4;

// Appends one frame holding `message` to `out`. RESOURCE_EXHAUSTED if the
// payload would exceed `max_payload_bytes`; INTERNAL if it cannot be
// serialized. `out` is unchanged on error.
absl::Status EncodeFrame(const google::protobuf::MessageLite& message,
                         size_t max_payload_bytes, std::string* out);

// How deep a frame's payload may nest. gRPC parses a request with
// protobuf's default limit (100); a frame wraps the request's values in a
// few more levels (a batch, a task, a result), so frames allow a margin
// over it: any value the daemon accepted crosses to a worker and back.
inline constexpr int kFrameRecursionLimit = 128;

// Parses one frame's payload (or a message stored the same way, such as a
// task slot's result) with kFrameRecursionLimit. False if it is not a valid
// `message`.
bool ParseFramePayload(absl::string_view payload,
                       google::protobuf::MessageLite* message);

// Reassembles frames from bytes that arrive in pieces of any size, and
// trusts nothing in them: a length over the limit or a payload that does not
// parse is an error, after which the decoder stays failed (a byte stream
// cannot be resynchronised). Not thread-safe; one reader owns it.
class FrameDecoder {
 public:
  explicit FrameDecoder(size_t max_payload_bytes)
      : max_payload_bytes_(max_payload_bytes) {}
  FrameDecoder(const FrameDecoder&) = delete;
  FrameDecoder& operator=(const FrameDecoder&) = delete;

  // Adds bytes read from the stream.
  void Append(absl::string_view bytes);

  // Parses the next whole frame into `message`. Returns true if it did,
  // false if more bytes are needed. RESOURCE_EXHAUSTED for a length over the
  // limit; DATA_LOSS for a payload that is not a valid `message`.
  absl::StatusOr<bool> Next(google::protobuf::MessageLite* message);

  // Call when the stream has ended: DATA_LOSS if it ended inside a frame,
  // the earlier error if the decoder has failed, else OK.
  absl::Status AtEndOfStream() const;

  // Bytes appended but not yet consumed by Next().
  size_t buffered() const { return buffer_.size() - offset_; }

 private:
  const size_t max_payload_bytes_;
  std::string buffer_;
  size_t offset_ = 0;  // start of the first unconsumed byte in buffer_
  absl::Status error_;
};

}  // namespace futured

#endif  // FUTURED_COMMON_FRAME_CODEC_H_
