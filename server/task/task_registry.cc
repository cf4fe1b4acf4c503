#include "server/task/task_registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"

namespace futured::server {
namespace {

using ::google::protobuf::Value;

// The smallest and one past the largest double that converts to int64.
constexpr double kMinInt64AsDouble = -9223372036854775808.0;  // -2^63
constexpr double kInt64Limit = 9223372036854775808.0;         // 2^63

// The shortest text that reads back as `d`: "2.5", "-1", "1e+19", "nan".
std::string FormatNumber(double d) {
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof(buf), d);
  return std::string(buf, result.ptr);
}

// The JSON type of `value` as users see it; an unset Value reads as null.
absl::string_view KindName(const Value& value) {
  switch (value.kind_case()) {
    case Value::kNumberValue:
      return "number";
    case Value::kStringValue:
      return "string";
    case Value::kBoolValue:
      return "bool";
    case Value::kListValue:
      return "list";
    case Value::kStructValue:
      return "object";
    case Value::kNullValue:
    case Value::KIND_NOT_SET:
      break;
  }
  return "null";
}

// "a number", "an integer", ... for "must be ..." messages.
absl::string_view TypeWithArticle(ParamType type) {
  switch (type) {
    case ParamType::kAny:
      return "any value";
    case ParamType::kNumber:
      return "a number";
    case ParamType::kInteger:
      return "an integer";
    case ParamType::kString:
      return "a string";
    case ParamType::kBool:
      return "a bool";
    case ParamType::kList:
      return "a list";
    case ParamType::kObject:
      return "an object";
  }
  return "a value";
}

bool HasKind(ParamType type, const Value& value) {
  switch (type) {
    case ParamType::kAny:
      return true;
    case ParamType::kNumber:
    case ParamType::kInteger:
      return value.kind_case() == Value::kNumberValue;
    case ParamType::kString:
      return value.kind_case() == Value::kStringValue;
    case ParamType::kBool:
      return value.kind_case() == Value::kBoolValue;
    case ParamType::kList:
      return value.kind_case() == Value::kListValue;
    case ParamType::kObject:
      return value.kind_case() == Value::kStructValue;
  }
  return false;
}

// What is wrong with `value` for `param`, as the end of a sentence that
// starts with the parameter's name ("must be a number, got string"); empty if
// the value fits.
std::string ProblemWith(const Param& param, const Value& value) {
  if (!HasKind(param.type, value)) {
    return absl::StrCat("must be ", TypeWithArticle(param.type), ", got ",
                        KindName(value));
  }
  if (param.type != ParamType::kNumber && param.type != ParamType::kInteger) {
    return "";
  }
  const double d = value.number_value();
  if (!std::isfinite(d)) {
    return absl::StrCat("must be a finite number, got ", FormatNumber(d));
  }
  if (param.type == ParamType::kInteger) {
    if (std::trunc(d) != d) {
      return absl::StrCat("must be an integer, got ", FormatNumber(d));
    }
    if (d < kMinInt64AsDouble || d >= kInt64Limit) {
      return absl::StrCat("must be a 64-bit integer, got ", FormatNumber(d));
    }
  }
  if (param.min.has_value() && d < *param.min) {
    return absl::StrCat("must be >= ", FormatNumber(*param.min), ", got ",
                        FormatNumber(d));
  }
  if (param.max.has_value() && d > *param.max) {
    return absl::StrCat("must be <= ", FormatNumber(*param.max), ", got ",
                        FormatNumber(d));
  }
  return "";
}

// "1 positional argument", "from 1 to 2 positional arguments".
std::string PositionalCount(size_t required, size_t total) {
  const std::string count =
      required == total ? absl::StrCat(total)
                        : absl::StrCat("from ", required, " to ", total);
  return absl::StrCat(count, " positional argument", total == 1 ? "" : "s");
}

}  // namespace

absl::string_view ParamTypeName(ParamType type) {
  switch (type) {
    case ParamType::kAny:
      return "any";
    case ParamType::kNumber:
      return "number";
    case ParamType::kInteger:
      return "integer";
    case ParamType::kString:
      return "string";
    case ParamType::kBool:
      return "bool";
    case ParamType::kList:
      return "list";
    case ParamType::kObject:
      return "object";
  }
  return "unknown";
}

int64_t BoundArgs::Integer(size_t i) const {
  return static_cast<int64_t>(Number(i));
}

std::string TaskSpec::Signature() const {
  std::vector<std::string> parts;
  parts.reserve(params.size());
  for (const Param& param : params) {
    std::string part =
        absl::StrCat(param.name, ": ", ParamTypeName(param.type));
    if (param.default_value.has_value()) {
      std::string json;
      if (!google::protobuf::util::MessageToJsonString(*param.default_value,
                                                       &json)
               .ok()) {
        // E.g. NaN, which JSON cannot hold; Register() rejects such defaults.
        json = param.default_value->ShortDebugString();
      }
      absl::StrAppend(&part, " = ", json);
    }
    parts.push_back(std::move(part));
  }
  return absl::StrCat(name, "(", absl::StrJoin(parts, ", "), ")");
}

absl::StatusOr<BoundArgs> BindArgs(
    const TaskSpec& spec, const google::protobuf::RepeatedPtrField<Value>& args,
    const google::protobuf::Struct& kwargs) {
  const std::vector<Param>& params = spec.params;
  const std::string function = absl::StrCat(spec.name, "()");

  if (static_cast<size_t>(args.size()) > params.size()) {
    const size_t required = std::count_if(
        params.begin(), params.end(),
        [](const Param& p) { return !p.default_value.has_value(); });
    return absl::InvalidArgumentError(absl::StrCat(
        function, " takes ", PositionalCount(required, params.size()), " but ",
        args.size(), args.size() == 1 ? " was" : " were", " given"));
  }

  // Sorted, so that the error for several unknown names is deterministic.
  const std::set<std::string> kwarg_names = [&kwargs] {
    std::set<std::string> names;
    for (const auto& [name, value] : kwargs.fields()) names.insert(name);
    return names;
  }();
  for (const std::string& name : kwarg_names) {
    const bool known =
        std::any_of(params.begin(), params.end(),
                    [&name](const Param& p) { return p.name == name; });
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          function, " got an unexpected keyword argument '", name, "'"));
    }
  }

  std::vector<Value> values;
  values.reserve(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const Param& param = params[i];
    const auto kwarg = kwargs.fields().find(param.name);
    if (i < static_cast<size_t>(args.size())) {
      if (kwarg != kwargs.fields().end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            function, " got multiple values for argument '", param.name, "'"));
      }
      values.push_back(args[static_cast<int>(i)]);
    } else if (kwarg != kwargs.fields().end()) {
      values.push_back(kwarg->second);
    } else if (param.default_value.has_value()) {
      values.push_back(*param.default_value);
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          function, " missing required argument '", param.name, "'"));
    }
    // An empty Value message is JSON null; make it one so tasks and the
    // conversion back to JSON see a real kind.
    if (values.back().kind_case() == Value::KIND_NOT_SET) {
      values.back().set_null_value(google::protobuf::NULL_VALUE);
    }
  }

  for (size_t i = 0; i < params.size(); ++i) {
    const std::string problem = ProblemWith(params[i], values[i]);
    if (!problem.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(function, " argument '", params[i].name, "' ", problem));
    }
  }
  return BoundArgs(std::move(values));
}

absl::Status TaskRegistry::Register(TaskSpec spec) {
  if (spec.name.empty()) {
    return absl::InvalidArgumentError("function name is empty");
  }
  if (!spec.function) {
    return absl::InvalidArgumentError(
        absl::StrCat("function '", spec.name, "' has no implementation"));
  }
  std::set<absl::string_view> seen;
  const Param* first_optional = nullptr;
  for (const Param& param : spec.params) {
    if (param.name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "function '", spec.name, "' has a parameter with no name"));
    }
    if (!seen.insert(param.name).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "function '", spec.name, "' has parameter '", param.name, "' twice"));
    }
    if (param.default_value.has_value()) {
      const std::string problem = ProblemWith(param, *param.default_value);
      if (!problem.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("function '", spec.name, "' default for parameter '",
                         param.name, "' ", problem));
      }
      if (first_optional == nullptr) first_optional = &param;
    } else if (first_optional != nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "function '", spec.name, "' has required parameter '", param.name,
          "' after optional parameter '", first_optional->name, "'"));
    }
  }
  if (specs_.contains(spec.name)) {
    return absl::AlreadyExistsError(
        absl::StrCat("function '", spec.name, "' is already registered"));
  }
  std::string name = spec.name;
  specs_.emplace(std::move(name), std::move(spec));
  return absl::OkStatus();
}

absl::StatusOr<const TaskSpec*> TaskRegistry::Find(
    absl::string_view name) const {
  const auto it = specs_.find(name);
  if (it == specs_.end()) {
    return absl::NotFoundError(
        absl::StrCat("function '", name, "' is not registered"));
  }
  return &it->second;
}

std::vector<const TaskSpec*> TaskRegistry::List() const {
  std::vector<const TaskSpec*> specs;
  specs.reserve(specs_.size());
  for (const auto& [name, spec] : specs_) specs.push_back(&spec);
  return specs;
}

}  // namespace futured::server
