#include "server/engine/argument_limits.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace futured::server {
namespace {

using google::protobuf::Value;

// Whether every value below `roots` is at most `max_depth` deep, by an
// explicit stack: a hostile value cannot overflow ours.
bool WithinDepth(const std::vector<const Value*>& roots, int max_depth) {
  std::vector<std::pair<const Value*, int>> stack;  // value, its level
  for (const Value* root : roots) stack.emplace_back(root, 0);
  while (!stack.empty()) {
    const auto [value, level] = stack.back();
    stack.pop_back();
    if (value->has_list_value()) {
      if (level + 1 > max_depth) return false;
      for (const Value& item : value->list_value().values()) {
        stack.emplace_back(&item, level + 1);
      }
    } else if (value->has_struct_value()) {
      if (level + 1 > max_depth) return false;
      for (const auto& [key, item] : value->struct_value().fields()) {
        stack.emplace_back(&item, level + 1);
      }
    }
  }
  return true;
}

}  // namespace

absl::Status CheckArgumentLimits(
    const google::protobuf::RepeatedPtrField<Value>& args,
    const google::protobuf::Struct& kwargs, const ArgumentLimits& limits) {
  std::vector<const Value*> roots;
  roots.reserve(args.size() + kwargs.fields_size());
  for (const Value& arg : args) roots.push_back(&arg);
  for (const auto& [name, value] : kwargs.fields()) roots.push_back(&value);
  if (!WithinDepth(roots, limits.max_depth)) {
    return absl::InvalidArgumentError(
        absl::StrCat("arguments are nested more than ", limits.max_depth,
                     " lists or objects deep (--max_arg_depth)"));
  }
  size_t bytes = kwargs.ByteSizeLong();
  for (const Value& arg : args) bytes += arg.ByteSizeLong();
  if (bytes > static_cast<size_t>(limits.max_bytes)) {
    return absl::ResourceExhaustedError(
        absl::StrCat("arguments are ", bytes, " bytes; at most ",
                     limits.max_bytes, " allowed (--max_arg_bytes)"));
  }
  return absl::OkStatus();
}

}  // namespace futured::server
