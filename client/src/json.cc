#include "futured/json.h"

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_cat.h"
#include "futured/errors.h"
#include "google/protobuf/util/json_util.h"

namespace futured {
namespace {

// protobuf prints a string or a number exactly as JSON wants it (escapes,
// shortest round-tripping digits, "NaN"/"Infinity"), but refuses a whole
// Value deeper than about 32 lists, which its parser accepts. So the leaves go
// through protobuf and the containers are written here, to any depth.
void AppendLeaf(const Value& leaf, std::string& out) {
  std::string json;
  const bool printed =
      google::protobuf::util::MessageToJsonString(leaf, &json).ok();
  // protobuf will not encode a string that is not UTF-8: it logs an error
  // and prints it as "" (or fails).
  if (!printed || (leaf.has_string_value() && !leaf.string_value().empty() &&
                   json == "\"\"")) {
    throw ValueError("cannot print as JSON: a string is not valid UTF-8");
  }
  out += json;
}

void AppendString(const std::string& text, std::string& out) {
  Value leaf;
  leaf.set_string_value(text);
  AppendLeaf(leaf, out);
}

void AppendJson(const Value& value, std::string& out);

void AppendList(const google::protobuf::ListValue& list, std::string& out) {
  out += '[';
  for (int i = 0; i < list.values_size(); ++i) {
    if (i > 0) out += ',';
    AppendJson(list.values(i), out);
  }
  out += ']';
}

// Keys in sorted order, so that equal objects print the same text.
void AppendObject(const google::protobuf::Struct& object, std::string& out) {
  using Field = google::protobuf::Map<std::string, Value>::value_type;
  std::vector<const Field*> fields;
  fields.reserve(object.fields().size());
  for (const auto& field : object.fields()) fields.push_back(&field);
  std::sort(fields.begin(), fields.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  out += '{';
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    AppendString(fields[i]->first, out);
    out += ':';
    AppendJson(fields[i]->second, out);
  }
  out += '}';
}

void AppendJson(const Value& value, std::string& out) {
  switch (value.kind_case()) {
    case Value::kListValue:
      AppendList(value.list_value(), out);
      return;
    case Value::kStructValue:
      AppendObject(value.struct_value(), out);
      return;
    case Value::kBoolValue:
      out += value.bool_value() ? "true" : "false";
      return;
    case Value::kNumberValue:
    case Value::kStringValue:
      AppendLeaf(value, out);
      return;
    case Value::kNullValue:
    case Value::KIND_NOT_SET:
      out += "null";
      return;
  }
}

}  // namespace

std::string ToJson(const Value& value) {
  std::string json;
  AppendJson(value, json);
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
