#include "json_args.h"

#include <istream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "futured/errors.h"
#include "futured/json.h"
#include "futured/value.h"
#include "google/protobuf/struct.pb.h"

namespace futured::ctl {
namespace {

// ParseJson with `what` in the message of its error.
Value ParseNamed(const std::string& json, const std::string& what) {
  try {
    return ParseJson(json);
  } catch (const ValueError& e) {
    throw ValueError(absl::StrCat(what, " is not JSON: ", e.what()));
  }
}

}  // namespace

std::vector<Value> ParseJsonList(const std::string& json,
                                 const std::string& what) {
  const Value value = ParseNamed(json, what);
  if (!value.has_list_value()) {
    throw ValueError(absl::StrCat(what, " must be a JSON list, got ", json));
  }
  return {value.list_value().values().begin(),
          value.list_value().values().end()};
}

google::protobuf::Struct ParseJsonObject(const std::string& json,
                                         const std::string& what) {
  const Value value = ParseNamed(json, what);
  if (!value.has_struct_value()) {
    throw ValueError(absl::StrCat(what, " must be a JSON object, got ", json));
  }
  return value.struct_value();
}

std::vector<Value> ReadJsonLines(std::istream& in, const std::string& what) {
  std::vector<Value> values;
  std::string line;
  for (int line_number = 1; std::getline(in, line); ++line_number) {
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    values.push_back(
        ParseNamed(line, absl::StrCat(what, " line ", line_number)));
  }
  return values;
}

}  // namespace futured::ctl
