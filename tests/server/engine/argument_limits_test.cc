#include "server/engine/argument_limits.h"

#include <string>

#include "gtest/gtest.h"

namespace futured::server {
namespace {

using google::protobuf::RepeatedPtrField;
using google::protobuf::Struct;
using google::protobuf::Value;

// [[...[1]...]] with `depth` lists, or {"k": {"k": ... 1}} with objects.
Value Nested(int depth, bool objects = false) {
  Value value;
  value.set_number_value(1);
  for (int i = 0; i < depth; ++i) {
    Value outer;
    if (objects) {
      (*outer.mutable_struct_value()->mutable_fields())["k"] = std::move(value);
    } else {
      *outer.mutable_list_value()->add_values() = std::move(value);
    }
    value = std::move(outer);
  }
  return value;
}

RepeatedPtrField<Value> Args(Value value) {
  RepeatedPtrField<Value> args;
  *args.Add() = std::move(value);
  return args;
}

constexpr ArgumentLimits kLimits{.max_depth = 4, .max_bytes = 1000};

TEST(ArgumentLimitsTest, DepthCountsListsAndObjects) {
  EXPECT_TRUE(CheckArgumentLimits(Args(Nested(0)), Struct(), kLimits).ok());
  EXPECT_TRUE(CheckArgumentLimits(Args(Nested(4)), Struct(), kLimits).ok());
  EXPECT_TRUE(
      CheckArgumentLimits(Args(Nested(4, true)), Struct(), kLimits).ok());
  for (bool objects : {false, true}) {
    absl::Status deep =
        CheckArgumentLimits(Args(Nested(5, objects)), Struct(), kLimits);
    EXPECT_EQ(deep.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(deep.message().find("--max_arg_depth"), std::string::npos)
        << deep;
    EXPECT_NE(deep.message().find("4"), std::string::npos) << deep;
  }
}

TEST(ArgumentLimitsTest, KeywordArgumentsCountToo) {
  Struct kwargs;
  (*kwargs.mutable_fields())["ok"] = Nested(4);
  EXPECT_TRUE(CheckArgumentLimits({}, kwargs, kLimits).ok());
  (*kwargs.mutable_fields())["deep"] = Nested(5);
  EXPECT_EQ(CheckArgumentLimits({}, kwargs, kLimits).code(),
            absl::StatusCode::kInvalidArgument);

  Struct big;
  (*big.mutable_fields())["s"].set_string_value(std::string(1000, 'x'));
  absl::Status large = CheckArgumentLimits({}, big, kLimits);
  EXPECT_EQ(large.code(), absl::StatusCode::kResourceExhausted);
}

TEST(ArgumentLimitsTest, SizeIsTheEncodedSizeOfAllArguments) {
  Value half;
  half.set_string_value(std::string(480, 'x'));  // 483 bytes encoded
  RepeatedPtrField<Value> args;
  *args.Add() = half;
  *args.Add() = half;
  EXPECT_TRUE(CheckArgumentLimits(args, Struct(), kLimits).ok());
  *args.Add() = half;
  absl::Status large = CheckArgumentLimits(args, Struct(), kLimits);
  EXPECT_EQ(large.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(large.message().find("--max_arg_bytes"), std::string::npos)
      << large;
  EXPECT_NE(large.message().find("1000"), std::string::npos) << large;
}

TEST(ArgumentLimitsTest, AValueDeeperThanTheParserAllowsIsRefused) {
  // Built in memory, where no parser limits it (its own destructor recurses,
  // so not deeper than this).
  const Value deep = Nested(5000);
  EXPECT_EQ(CheckArgumentLimits(Args(deep), Struct(), kLimits).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace futured::server
