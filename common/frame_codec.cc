#include "common/frame_codec.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/io/coded_stream.h"

namespace futured {
namespace {

// Buffered bytes already consumed are dropped once they pass this size.
constexpr size_t kCompactBytes = 64 * 1024;

uint32_t ReadLength(const char* p) {
  const auto* b = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) |
         (uint32_t{b[2]} << 8) | uint32_t{b[3]};
}

}  // namespace

absl::Status EncodeFrame(const google::protobuf::MessageLite& message,
                         size_t max_payload_bytes, std::string* out) {
  const size_t size = message.ByteSizeLong();
  if (size > max_payload_bytes || size > UINT32_MAX) {
    return absl::ResourceExhaustedError(absl::StrCat(
        message.GetTypeName(), " of ", size,
        " bytes exceeds the frame limit of ", max_payload_bytes, " bytes"));
  }
  const size_t start = out->size();
  out->resize(start + kFrameHeaderBytes + size);
  char* header = out->data() + start;
  header[0] = static_cast<char>(size >> 24);
  header[1] = static_cast<char>(size >> 16);
  header[2] = static_cast<char>(size >> 8);
  header[3] = static_cast<char>(size);
  if (!message.SerializeToArray(header + kFrameHeaderBytes,
                                static_cast<int>(size))) {
    out->resize(start);
    return absl::InternalError(
        absl::StrCat("cannot serialize ", message.GetTypeName()));
  }
  return absl::OkStatus();
}

void FrameDecoder::Append(absl::string_view bytes) {
  if (!error_.ok()) return;
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  } else if (offset_ >= kCompactBytes) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(bytes.data(), bytes.size());
}

bool ParseFramePayload(absl::string_view payload,
                       google::protobuf::MessageLite* message) {
  google::protobuf::io::CodedInputStream input(
      reinterpret_cast<const uint8_t*>(payload.data()),
      static_cast<int>(payload.size()));
  input.SetRecursionLimit(kFrameRecursionLimit);
  return message->ParseFromCodedStream(&input) && input.ConsumedEntireMessage();
}

absl::StatusOr<bool> FrameDecoder::Next(
    google::protobuf::MessageLite* message) {
  if (!error_.ok()) return error_;
  if (buffered() < kFrameHeaderBytes) return false;
  const uint32_t length = ReadLength(buffer_.data() + offset_);
  if (length > max_payload_bytes_) {
    error_ = absl::ResourceExhaustedError(
        absl::StrCat("frame announces ", length, " bytes, over the limit of ",
                     max_payload_bytes_));
    return error_;
  }
  if (buffered() < kFrameHeaderBytes + length) return false;
  const char* payload = buffer_.data() + offset_ + kFrameHeaderBytes;
  if (!ParseFramePayload(absl::string_view(payload, length), message)) {
    error_ = absl::DataLossError(absl::StrCat(
        "frame of ", length, " bytes is not a valid ", message->GetTypeName()));
    return error_;
  }
  offset_ += kFrameHeaderBytes + length;
  return true;
}

absl::Status FrameDecoder::AtEndOfStream() const {
  if (!error_.ok()) return error_;
  if (buffered() == 0) return absl::OkStatus();
  if (buffered() < kFrameHeaderBytes) {
    return absl::DataLossError(
        absl::StrCat("stream ended inside a frame header (", buffered(), " of ",
                     kFrameHeaderBytes, " bytes)"));
  }
  return absl::DataLossError(absl::StrCat(
      "stream ended inside a frame (", buffered() - kFrameHeaderBytes, " of ",
      ReadLength(buffer_.data() + offset_), " payload bytes)"));
}

}  // namespace futured
