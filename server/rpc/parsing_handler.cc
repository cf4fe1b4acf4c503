#include "server/rpc/parsing_handler.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/stubs/common.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/support/method_handler.h"
#include "grpcpp/support/proto_buffer_reader.h"

namespace futured::server::rpc {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::FileDescriptor;
using ::google::protobuf::internal::WireFormatLite;
using ::google::protobuf::io::CodedInputStream;

// protobuf's default recursion limit: how many messages deep a parse goes.
constexpr int kMaxNesting = 100;

thread_local const absl::Status* current_rejection = nullptr;

std::string Malformed(const Descriptor& type) {
  return absl::StrCat("malformed protobuf bytes in a ", type.full_name());
}

// The first reason protobuf's parser refuses the `type` message read from
// `in` (up to its pushed limit) at nesting `depth`, found by walking the
// wire format with the schema; nullopt when the walk finds none. Recursion
// is bounded by kMaxNesting.
std::optional<std::string> FindRefusal(CodedInputStream& in,
                                       const Descriptor& type, int depth) {
  for (;;) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) {  // the message's end, or bytes that are no tag
      if (in.BytesUntilLimit() == 0) return std::nullopt;
      return Malformed(type);
    }
    const FieldDescriptor* field =
        type.FindFieldByNumber(WireFormatLite::GetTagFieldNumber(tag));
    const bool checked = field != nullptr &&
                         WireFormatLite::GetTagWireType(tag) ==
                             WireFormatLite::WIRETYPE_LENGTH_DELIMITED &&
                         (field->type() == FieldDescriptor::TYPE_STRING ||
                          field->type() == FieldDescriptor::TYPE_MESSAGE);
    if (!checked) {
      if (!WireFormatLite::SkipField(&in, tag)) return Malformed(type);
      continue;
    }
    uint32_t length = 0;
    if (!in.ReadVarint32(&length)) return Malformed(type);
    if (field->type() == FieldDescriptor::TYPE_STRING) {
      std::string text;
      if (!in.ReadString(&text, static_cast<int>(length))) {
        return Malformed(type);
      }
      if (field->file()->syntax() == FileDescriptor::SYNTAX_PROTO3 &&
          !google::protobuf::internal::IsStructurallyValidUTF8(text)) {
        return absl::StrCat("invalid UTF-8 in string field ",
                            field->full_name());
      }
      continue;
    }
    if (depth + 1 > kMaxNesting) {
      return absl::StrCat("messages nested more than ", kMaxNesting,
                          " deep (at ", field->full_name(), ")");
    }
    const CodedInputStream::Limit limit =
        in.PushLimit(static_cast<int>(length));
    std::optional<std::string> refusal =
        FindRefusal(in, *field->message_type(), depth + 1);
    if (refusal.has_value()) return refusal;
    in.PopLimit(limit);
  }
}

// Why `payload` does not parse as `type`. Runs on failures only.
std::string ExplainRefusal(grpc::ByteBuffer& payload, const Descriptor& type) {
  std::vector<grpc::Slice> slices;
  if (!payload.Dump(&slices).ok()) return "unreadable bytes";
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  CodedInputStream in(reinterpret_cast<const uint8_t*>(bytes.data()),
                      static_cast<int>(bytes.size()));
  in.PushLimit(static_cast<int>(bytes.size()));
  return FindRefusal(in, type, 0).value_or(Malformed(type));
}

}  // namespace

absl::Status ParseRequest(grpc_byte_buffer* payload,
                          google::protobuf::Message& request) {
  grpc::ByteBuffer buffer;
  // The buffer takes `payload` over and frees it. ByteBuffer::set_buffer is
  // private; gRPC's own handlers adopt a payload through this helper, which
  // for a ByteBuffer moves the pointer and always succeeds.
  grpc::Status adopted;
  grpc::internal::UnaryDeserializeHelper(payload, &adopted, &buffer);
  if (!buffer.Valid()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no ", request.GetDescriptor()->full_name(), " in the request"));
  }
  {
    grpc::ProtoBufferReader reader(&buffer);
    if (reader.status().ok() && request.ParseFromZeroCopyStream(&reader)) {
      return absl::OkStatus();
    }
  }
  request.Clear();
  const Descriptor& type = *request.GetDescriptor();
  return absl::InvalidArgumentError(absl::StrCat("the request is not a valid ",
                                                 type.full_name(), ": ",
                                                 ExplainRefusal(buffer, type)));
}

namespace parsing_internal {

RejectionScope::RejectionScope(const absl::Status* rejection)
    : previous_(current_rejection) {
  current_rejection = rejection;
}

RejectionScope::~RejectionScope() { current_rejection = previous_; }

const absl::Status* RejectionScope::Current() { return current_rejection; }

}  // namespace parsing_internal
}  // namespace futured::server::rpc
