// Terse builders of google.protobuf.Value and of task arguments, for tests
// that call tasks or bind their arguments: Args({Num(1), Str("x")}).
//
// Header-only: each unit test is one executable of its own *_test.cc.
#ifndef FUTURED_TESTS_SERVER_VALUE_BUILDERS_H_
#define FUTURED_TESTS_SERVER_VALUE_BUILDERS_H_

#include <initializer_list>
#include <string>
#include <utility>

#include "google/protobuf/repeated_ptr_field.h"
#include "google/protobuf/struct.pb.h"
#include "server/tasks/value_builders.h"

namespace futured::testing {

inline google::protobuf::Value Num(double d) { return server::NumberValue(d); }

inline google::protobuf::Value Str(std::string s) {
  return server::StringValue(std::move(s));
}

inline google::protobuf::Value Bool(bool b) { return server::BoolValue(b); }

inline google::protobuf::Value Null() {
  google::protobuf::Value v;
  v.set_null_value(google::protobuf::NULL_VALUE);
  return v;
}

inline google::protobuf::Value List(
    std::initializer_list<google::protobuf::Value> items) {
  google::protobuf::Value v;
  google::protobuf::ListValue* list = v.mutable_list_value();
  for (const google::protobuf::Value& item : items) *list->add_values() = item;
  return v;
}

// A JSON-like object value: Object({{"a", Num(1)}}).
inline google::protobuf::Value Object(
    std::initializer_list<std::pair<std::string, google::protobuf::Value>>
        fields) {
  google::protobuf::Value v;
  google::protobuf::Struct* object = v.mutable_struct_value();
  for (const auto& [name, value] : fields) {
    (*object->mutable_fields())[name] = value;
  }
  return v;
}

// Positional arguments, as SubmitRequest.args carries them.
inline google::protobuf::RepeatedPtrField<google::protobuf::Value> Args(
    std::initializer_list<google::protobuf::Value> values) {
  google::protobuf::RepeatedPtrField<google::protobuf::Value> args;
  for (const google::protobuf::Value& value : values) *args.Add() = value;
  return args;
}

// Keyword arguments, as SubmitRequest.kwargs carries them.
inline google::protobuf::Struct Kwargs(
    std::initializer_list<std::pair<std::string, google::protobuf::Value>>
        fields) {
  google::protobuf::Struct kwargs;
  for (const auto& [name, value] : fields) {
    (*kwargs.mutable_fields())[name] = value;
  }
  return kwargs;
}

}  // namespace futured::testing

#endif  // FUTURED_TESTS_SERVER_VALUE_BUILDERS_H_
