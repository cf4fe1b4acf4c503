// One-line constructors of google.protobuf.Value for task results.
#ifndef FUTURED_SERVER_TASKS_VALUE_BUILDERS_H_
#define FUTURED_SERVER_TASKS_VALUE_BUILDERS_H_

#include <string>
#include <utility>

#include "google/protobuf/struct.pb.h"

namespace futured::server {

inline google::protobuf::Value NumberValue(double d) {
  google::protobuf::Value v;
  v.set_number_value(d);
  return v;
}

inline google::protobuf::Value StringValue(std::string s) {
  google::protobuf::Value v;
  v.set_string_value(std::move(s));
  return v;
}

inline google::protobuf::Value BoolValue(bool b) {
  google::protobuf::Value v;
  v.set_bool_value(b);
  return v;
}

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASKS_VALUE_BUILDERS_H_
