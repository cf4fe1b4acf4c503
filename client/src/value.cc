#include "futured/value.h"

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "futured/errors.h"
#include "futured/json.h"

namespace futured::internal {
namespace {

constexpr std::size_t kMaxShownJson = 60;

// "string \"abc\"", "number 2.5", "list [1,2]", ... shortened for messages.
std::string Describe(const Value& value) {
  const char* kind = "nothing";
  switch (value.kind_case()) {
    case Value::kNullValue:
      return "null";
    case Value::kBoolValue:
      kind = "bool";
      break;
    case Value::kNumberValue:
      kind = "number";
      break;
    case Value::kStringValue:
      kind = "string";
      break;
    case Value::kListValue:
      kind = "list";
      break;
    case Value::kStructValue:
      kind = "object";
      break;
    case Value::KIND_NOT_SET:
      return "no value";
  }
  std::string json = ToJson(value);
  if (json.size() > kMaxShownJson) {
    json = absl::StrCat(json.substr(0, kMaxShownJson), "...");
  }
  return absl::StrCat(kind, " ", json);
}

}  // namespace

void ThrowMismatch(std::string_view expected, const Value& value) {
  throw ValueError("expected " + std::string(expected) + ", got " +
                   Describe(value));
}

void ThrowInexact(std::string_view what) {
  throw ValueError("integer " + std::string(what) +
                   " is beyond 2^53 and not exact in a Value");
}

void RethrowWithPath(const ValueError& error, std::string_view segment) {
  // Messages of nested conversions read "at [1][\"x\"]: expected ...".
  std::string_view what = error.what();
  constexpr std::string_view kAt = "at ";
  if (what.substr(0, kAt.size()) == kAt) {
    throw ValueError(std::string(kAt) + std::string(segment) +
                     std::string(what.substr(kAt.size())));
  }
  throw ValueError(std::string(kAt) + std::string(segment) + ": " +
                   std::string(what));
}

std::string IndexSegment(std::size_t index) {
  return absl::StrCat("[", index, "]");
}

std::string KeySegment(std::string_view key) {
  return "[\"" + std::string(key) + "\"]";
}

int64_t CheckedInteger(double d, int64_t min, uint64_t max,
                       std::string_view type_name) {
  auto fail = [&](std::string_view why) {
    throw ValueError("expected " + std::string(type_name) + ", got number " +
                     absl::StrCat(d) + " (" + std::string(why) + ")");
  };
  if (!std::isfinite(d)) fail("not finite");
  if (std::trunc(d) != d) fail("not an integer");
  if (std::fabs(d) > static_cast<double>(kMaxExactInteger)) {
    fail("beyond 2^53, not exact");
  }
  const auto i = static_cast<int64_t>(d);
  if (i < min || (i > 0 && static_cast<uint64_t>(i) > max)) {
    fail("out of range");
  }
  return i;
}

}  // namespace futured::internal
