// futured/value.h and futured/json.h: typed conversions to and from
// google.protobuf.Value, without a daemon.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "futured/errors.h"
#include "futured/json.h"
#include "futured/value.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

struct Point {
  double x = 0;
  double y = 0;
};

}  // namespace

template <>
struct futured::ValueTraits<Point> {
  static Value ToValue(const Point& p) {
    return futured::ToValue(
        std::map<std::string, double>{{"x", p.x}, {"y", p.y}});
  }
  static Point FromValue(const Value& v) {
    auto fields = futured::FromValue<std::map<std::string, double>>(v);
    return Point{fields.at("x"), fields.at("y")};
  }
};

namespace futured {
namespace {

using ::testing::HasSubstr;

// The message of the ValueError that `convert` throws ("" if none).
template <class F>
std::string ValueErrorOf(F convert) {
  try {
    convert();
  } catch (const ValueError& e) {
    return e.what();
  }
  return "";
}

TEST(ClientValueTest, ScalarsRoundTrip) {
  EXPECT_EQ(FromValue<bool>(ToValue(true)), true);
  EXPECT_EQ(FromValue<int>(ToValue(-42)), -42);
  EXPECT_EQ(FromValue<uint8_t>(ToValue(255)), 255);
  EXPECT_EQ(FromValue<int64_t>(ToValue(int64_t{1} << 53)), int64_t{1} << 53);
  EXPECT_EQ(FromValue<double>(ToValue(2.5)), 2.5);
  EXPECT_EQ(FromValue<float>(ToValue(0.5f)), 0.5f);
  EXPECT_EQ(FromValue<std::string>(ToValue("text")), "text");
  EXPECT_EQ(FromValue<std::string>(ToValue(std::string_view("view"))), "view");
  EXPECT_EQ(ToValue(nullptr).kind_case(), Value::kNullValue);
  EXPECT_EQ(FromValue<double>(ToValue(7)), 7.0) << "an integer is a number";
}

TEST(ClientValueTest, ContainersAndOptionalRoundTrip) {
  const std::vector<int> list{1, 2, 3};
  EXPECT_EQ(FromValue<std::vector<int>>(ToValue(list)), list);
  const std::map<std::string, std::vector<std::string>> map{{"a", {"x"}},
                                                            {"b", {}}};
  EXPECT_EQ((FromValue<std::map<std::string, std::vector<std::string>>>(
                ToValue(map))),
            map);
  const std::unordered_map<std::string, bool> flags{{"on", true}};
  EXPECT_EQ((FromValue<std::unordered_map<std::string, bool>>(ToValue(flags))),
            flags);
  EXPECT_EQ(FromValue<std::optional<int>>(ToValue(std::optional<int>())),
            std::nullopt);
  EXPECT_EQ(FromValue<std::optional<int>>(ToValue(std::optional<int>(4))), 4);
  EXPECT_EQ(ToJson(ToValue(std::vector<std::optional<int>>{1, std::nullopt})),
            "[1,null]");
}

TEST(ClientValueTest, UserTypesConvertThroughTheirTraits) {
  const Value v = ToValue(Point{1.5, -2});
  // A JSON object's members have no order: compare the members.
  ASSERT_TRUE(v.has_struct_value());
  EXPECT_EQ(v.struct_value().fields_size(), 2);
  EXPECT_EQ(v.struct_value().fields().at("x").number_value(), 1.5);
  EXPECT_EQ(v.struct_value().fields().at("y").number_value(), -2);
  const Point p = FromValue<Point>(v);
  EXPECT_EQ(p.x, 1.5);
  EXPECT_EQ(p.y, -2);
  const auto points = FromValue<std::vector<Point>>(
      ToValue(std::vector<Point>{{1, 2}, {3, 4}}));
  ASSERT_EQ(points.size(), 2u);
  EXPECT_EQ(points[1].y, 4);
}

TEST(ClientValueTest, AKindMismatchNamesTheExpectedTypeAndTheValue) {
  EXPECT_THAT(ValueErrorOf([] { FromValue<int>(ToValue("7")); }),
              HasSubstr("expected int32_t, got string \"7\""));
  EXPECT_THAT(ValueErrorOf([] { FromValue<bool>(ToValue(1)); }),
              HasSubstr("expected bool, got number 1"));
  EXPECT_THAT(ValueErrorOf([] { FromValue<std::string>(ToValue(nullptr)); }),
              HasSubstr("expected a string, got null"));
  EXPECT_THAT(ValueErrorOf([] { FromValue<std::vector<int>>(ToValue(1)); }),
              HasSubstr("expected a list"));
  EXPECT_THAT(ValueErrorOf(
                  [] { FromValue<std::map<std::string, int>>(ToValue(true)); }),
              HasSubstr("expected an object"));
  EXPECT_THAT(ValueErrorOf([] { FromValue<int>(Value()); }),
              HasSubstr("got no value"));
}

TEST(ClientValueTest, IntegersAreRangeCheckedAndMustBeExact) {
  EXPECT_THAT(ValueErrorOf([] { FromValue<int8_t>(ToValue(128)); }),
              HasSubstr("expected int8_t, got number 128 (out of range)"));
  EXPECT_THAT(ValueErrorOf([] { FromValue<uint32_t>(ToValue(-1)); }),
              HasSubstr("out of range"));
  EXPECT_THAT(ValueErrorOf([] { FromValue<int>(ToValue(2.5)); }),
              HasSubstr("not an integer"));
  EXPECT_THAT(ValueErrorOf([] { FromValue<int64_t>(ToValue(1e300)); }),
              HasSubstr("beyond 2^53"));
  EXPECT_THAT(ValueErrorOf([] { ToValue((int64_t{1} << 53) + 1); }),
              HasSubstr("beyond 2^53"));
  EXPECT_THAT(ValueErrorOf([] { ToValue(UINT64_MAX); }),
              HasSubstr("beyond 2^53"));
  EXPECT_EQ(FromValue<int64_t>(ToValue(-(int64_t{1} << 53))),
            -(int64_t{1} << 53));
  EXPECT_EQ(FromValue<int16_t>(ToValue(-32768)), -32768);
}

TEST(ClientValueTest, ErrorsInsideContainersNameThePath) {
  EXPECT_THAT(ValueErrorOf([] {
                FromValue<std::vector<int>>(ParseJson("[1, 2, \"x\"]"));
              }),
              HasSubstr("at [2]: expected int32_t, got string \"x\""));
  EXPECT_THAT(ValueErrorOf([] {
                FromValue<std::map<std::string, std::vector<int>>>(
                    ParseJson("{\"k\": [1, 2.5]}"));
              }),
              HasSubstr("at [\"k\"][1]: expected int32_t"));
}

TEST(ClientValueTest, JsonRoundTripsAndBadJsonIsAValueError) {
  const Value v = ParseJson(R"({"a": [1, 2.5, "x", true, null]})");
  EXPECT_EQ(ToJson(v), R"({"a":[1,2.5,"x",true,null]})");
  EXPECT_EQ(FromValue<std::string>(ParseJson("\"s\"")), "s");
  EXPECT_THAT(ValueErrorOf([] { ParseJson("{not json"); }),
              HasSubstr("not JSON"));
}

// protobuf's JSON printer refuses a Value more than about 32 lists deep,
// which its parser accepts up to 50: the json_value fuzz target found 41
// levels that printed as "null". Deeper is a ValueError, never a crash.
TEST(ClientValueTest, DeeplyNestedJsonPrintsAndParsesBack) {
  for (int depth : {31, 33, 41, 50}) {
    const std::string json =
        std::string(depth, '[') + "\"x\"" + std::string(depth, ']');
    const Value parsed = ParseJson(json);
    EXPECT_EQ(ToJson(parsed), json) << depth;
  }
  EXPECT_THAT(ValueErrorOf([] {
                ParseJson(std::string(51, '[') + "1" + std::string(51, ']'));
              }),
              HasSubstr("not JSON"));
  std::string objects = "true";
  for (int i = 0; i < 33; ++i) objects = absl::StrCat("{\"k\":", objects, "}");
  EXPECT_EQ(ToJson(ParseJson(objects)), objects);
}

TEST(ClientValueTest, JsonLeavesAndKeysPrintAsProtobufWould) {
  EXPECT_EQ(ToJson(ParseJson(R"({"b":1,"a":{"d":null,"c":[]}})")),
            R"({"a":{"c":[],"d":null},"b":1})");
  EXPECT_EQ(ToJson(ToValue(1e5)), "100000");
  EXPECT_EQ(ToJson(ToValue(0.1)), "0.1");
  EXPECT_EQ(ToJson(ToValue(std::string("a<\"\n"))), R"("a\u003c\"\n")");
  EXPECT_EQ(ToJson(Value()), "null");
  EXPECT_THAT(ValueErrorOf([] { ToJson(ToValue(std::string("\xff"))); }),
              HasSubstr("not valid UTF-8"));
}

TEST(ClientValueTest, ErrorsAreOneHierarchy) {
  TaskError task("ValueError", "bad input");
  EXPECT_STREQ(task.what(), "bad input");
  EXPECT_EQ(task.type(), "ValueError");
  EXPECT_EQ(task.details().kind_case(), Value::KIND_NOT_SET);
  const Error& base = task;
  EXPECT_STREQ(base.what(), "bad input");
  RpcError rpc(absl::NotFoundError("future x not found"));
  EXPECT_EQ(rpc.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(rpc.what(), HasSubstr("future x not found"));
}

}  // namespace
}  // namespace futured
