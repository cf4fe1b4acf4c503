// A task's result object ({"status": 200, "title": "..."}) built field by
// field.
#ifndef FUTURED_SERVER_TASKS_RESULT_OBJECT_H_
#define FUTURED_SERVER_TASKS_RESULT_OBJECT_H_

#include <optional>
#include <string>
#include <utility>

#include "google/protobuf/struct.pb.h"

namespace futured::server {

// Builds a google.protobuf.Value holding an object. Strings must be valid
// UTF-8 (see ToValidUtf8). A value type: not thread-safe, used by one task.
class ResultObject {
 public:
  ResultObject& Number(const std::string& key, double value) {
    Field(key).set_number_value(value);
    return *this;
  }
  ResultObject& String(const std::string& key, std::string value) {
    Field(key).set_string_value(std::move(value));
    return *this;
  }
  ResultObject& Bool(const std::string& key, bool value) {
    Field(key).set_bool_value(value);
    return *this;
  }
  // A string, or null when `value` is empty.
  ResultObject& OptionalString(const std::string& key,
                               std::optional<std::string> value) {
    if (value.has_value()) return String(key, *std::move(value));
    Field(key).set_null_value(google::protobuf::NULL_VALUE);
    return *this;
  }
  // A number, or null when `value` is empty.
  ResultObject& OptionalNumber(const std::string& key,
                               std::optional<double> value) {
    if (value.has_value()) return Number(key, *value);
    Field(key).set_null_value(google::protobuf::NULL_VALUE);
    return *this;
  }

  // The object; leaves this builder empty.
  google::protobuf::Value Build() { return std::move(value_); }

 private:
  google::protobuf::Value& Field(const std::string& key) {
    return (*value_.mutable_struct_value()->mutable_fields())[key];
  }

  google::protobuf::Value value_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASKS_RESULT_OBJECT_H_
