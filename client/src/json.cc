#include "futured/json.h"

#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "futured/errors.h"
#include "google/protobuf/util/json_util.h"

namespace futured {

std::string ToJson(const Value& value) {
  std::string json;
  // A Value always prints (only an unset kind fails; print it as null).
  if (!google::protobuf::util::MessageToJsonString(value, &json).ok()) {
    return "null";
  }
  return json;
}

Value ParseJson(std::string_view json) {
  Value value;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &value);
  if (!status.ok()) {
    throw ValueError(absl::StrCat("not JSON: ", status.message().as_string()));
  }
  return value;
}

}  // namespace futured
