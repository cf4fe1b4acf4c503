#include "server/task/task_registry.h"

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/server/value_builders.h"

namespace futured::server {
namespace {

using ::futured::testing::Args;
using ::futured::testing::Bool;
using ::futured::testing::Kwargs;
using ::futured::testing::List;
using ::futured::testing::Null;
using ::futured::testing::Num;
using ::futured::testing::Object;
using ::futured::testing::Str;
using ::google::protobuf::RepeatedPtrField;
using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Outcome ReturnNull(const TaskContext&, const BoundArgs&) { return Null(); }

TaskSpec Spec(std::string name, std::vector<Param> params) {
  return TaskSpec{.name = std::move(name),
                  .description = "test task",
                  .params = std::move(params),
                  .function = ReturnNull};
}

TaskSpec SleepSpec() {
  return Spec("sleep", {{.name = "seconds",
                         .type = ParamType::kNumber,
                         .min = 0,
                         .max = 86400}});
}

TaskSpec DownloadSpec() {
  return Spec("simulate_download", {{.name = "url", .type = ParamType::kString},
                                    {.name = "seconds",
                                     .type = ParamType::kNumber,
                                     .default_value = Num(2),
                                     .min = 0,
                                     .max = 3600}});
}

TaskSpec FactorialSpec() {
  return Spec("factorial", {{.name = "n", .type = ParamType::kInteger}});
}

// Binds and returns the error; fails the test if binding succeeded.
absl::Status BindError(const TaskSpec& spec,
                       const RepeatedPtrField<Value>& args,
                       const Struct& kwargs = Struct()) {
  absl::StatusOr<BoundArgs> bound = BindArgs(spec, args, kwargs);
  EXPECT_FALSE(bound.ok()) << "bound " << bound->size() << " values";
  return bound.status();
}

TEST(ParamTypeNameTest, NamesEveryType) {
  EXPECT_EQ(ParamTypeName(ParamType::kAny), "any");
  EXPECT_EQ(ParamTypeName(ParamType::kNumber), "number");
  EXPECT_EQ(ParamTypeName(ParamType::kInteger), "integer");
  EXPECT_EQ(ParamTypeName(ParamType::kString), "string");
  EXPECT_EQ(ParamTypeName(ParamType::kBool), "bool");
  EXPECT_EQ(ParamTypeName(ParamType::kList), "list");
  EXPECT_EQ(ParamTypeName(ParamType::kObject), "object");
}

TEST(SignatureTest, RequiredParameter) {
  EXPECT_EQ(SleepSpec().Signature(), "sleep(seconds: number)");
}

TEST(SignatureTest, DefaultsAreCompactJson) {
  EXPECT_EQ(DownloadSpec().Signature(),
            "simulate_download(url: string, seconds: number = 2)");
  TaskSpec spec = Spec(
      "f", {{.name = "s",
             .type = ParamType::kString,
             .default_value = Str("RuntimeError")},
            {.name = "o",
             .type = ParamType::kObject,
             .default_value = Object({{"a", List({Num(1), Num(2.5)})}})},
            {.name = "v", .type = ParamType::kAny, .default_value = Null()}});
  EXPECT_EQ(spec.Signature(),
            "f(s: string = \"RuntimeError\", o: object = {\"a\":[1,2.5]}, "
            "v: any = null)");
}

TEST(SignatureTest, NoParameters) {
  EXPECT_EQ(Spec("f", {}).Signature(), "f()");
}

TEST(SignatureTest, AnyParameter) {
  EXPECT_EQ(Spec("echo", {{.name = "value"}}).Signature(), "echo(value: any)");
}

TEST(BindArgsTest, PositionalArgument) {
  absl::StatusOr<BoundArgs> bound = BindArgs(SleepSpec(), Args({Num(1.5)}), {});
  ASSERT_TRUE(bound.ok()) << bound.status();
  ASSERT_EQ(bound->size(), 1u);
  EXPECT_EQ(bound->Number(0), 1.5);
}

TEST(BindArgsTest, KeywordArgument) {
  absl::StatusOr<BoundArgs> bound =
      BindArgs(SleepSpec(), {}, Kwargs({{"seconds", Num(3)}}));
  ASSERT_TRUE(bound.ok()) << bound.status();
  EXPECT_EQ(bound->Number(0), 3);
}

TEST(BindArgsTest, DefaultFillsMissingOptionalArgument) {
  absl::StatusOr<BoundArgs> bound =
      BindArgs(DownloadSpec(), Args({Str("http://x")}), {});
  ASSERT_TRUE(bound.ok()) << bound.status();
  ASSERT_EQ(bound->size(), 2u);
  EXPECT_EQ(bound->String(0), "http://x");
  EXPECT_EQ(bound->Number(1), 2);
}

TEST(BindArgsTest, KeywordOverridesDefaultAfterPositional) {
  absl::StatusOr<BoundArgs> bound = BindArgs(
      DownloadSpec(), Args({Str("http://x")}), Kwargs({{"seconds", Num(0)}}));
  ASSERT_TRUE(bound.ok()) << bound.status();
  EXPECT_EQ(bound->String(0), "http://x");
  EXPECT_EQ(bound->Number(1), 0);
}

TEST(BindArgsTest, KeywordsInAnyOrderBindInParameterOrder) {
  absl::StatusOr<BoundArgs> bound = BindArgs(
      DownloadSpec(), {}, Kwargs({{"seconds", Num(1)}, {"url", Str("u")}}));
  ASSERT_TRUE(bound.ok()) << bound.status();
  EXPECT_EQ(bound->String(0), "u");
  EXPECT_EQ(bound->Number(1), 1);
}

TEST(BindArgsTest, TooManyPositionalArguments) {
  absl::Status s = BindError(SleepSpec(), Args({Num(1), Num(2)}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "sleep() takes 1 positional argument but 2 were given");
}

TEST(BindArgsTest, TooManyPositionalArgumentsWithOptionalParameter) {
  absl::Status s = BindError(DownloadSpec(), Args({Str("u"), Num(1), Num(2)}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "simulate_download() takes from 1 to 2 positional arguments but 3 "
            "were given");
}

TEST(BindArgsTest, PositionalArgumentToFunctionWithoutParameters) {
  absl::Status s = BindError(Spec("f", {}), Args({Num(1)}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "f() takes 0 positional arguments but 1 was given");
}

TEST(BindArgsTest, UnexpectedKeywordArgument) {
  absl::Status s = BindError(SleepSpec(), {}, Kwargs({{"secs", Num(1)}}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "sleep() got an unexpected keyword argument 'secs'");
}

TEST(BindArgsTest, UnexpectedKeywordArgumentReportedEvenWithValidOnes) {
  absl::Status s = BindError(SleepSpec(), {},
                             Kwargs({{"seconds", Num(1)}, {"extra", Num(1)}}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'extra'"));
}

TEST(BindArgsTest, MultipleValuesForArgument) {
  absl::Status s =
      BindError(SleepSpec(), Args({Num(1)}), Kwargs({{"seconds", Num(2)}}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "sleep() got multiple values for argument 'seconds'");
}

TEST(BindArgsTest, MissingRequiredArgument) {
  absl::Status s = BindError(SleepSpec(), {});
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "sleep() missing required argument 'seconds'");
}

TEST(BindArgsTest, MissingRequiredArgumentWhenOnlyOptionalGiven) {
  absl::Status s = BindError(DownloadSpec(), {}, Kwargs({{"seconds", Num(1)}}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "simulate_download() missing required argument 'url'");
}

TEST(BindArgsTest, NumberRejectsString) {
  absl::Status s = BindError(SleepSpec(), Args({Str("1")}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "sleep() argument 'seconds' must be a number, got string");
}

TEST(BindArgsTest, NumberRejectsBoolAndNull) {
  EXPECT_THAT(BindError(SleepSpec(), Args({Bool(true)})).message(),
              HasSubstr("'seconds' must be a number, got bool"));
  EXPECT_THAT(BindError(SleepSpec(), Args({Null()})).message(),
              HasSubstr("'seconds' must be a number, got null"));
}

TEST(BindArgsTest, WrongTypeOfKeywordArgumentNamesIt) {
  absl::Status s = BindError(DownloadSpec(), Args({Str("u")}),
                             Kwargs({{"seconds", List({})}}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      s.message(),
      "simulate_download() argument 'seconds' must be a number, got list");
}

TEST(BindArgsTest, NumberRejectsNanAndInfinity) {
  for (double d : {std::numeric_limits<double>::quiet_NaN(),
                   std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity()}) {
    absl::Status s =
        BindError(Spec("square", {{.name = "x", .type = ParamType::kNumber}}),
                  Args({Num(d)}));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << d;
    EXPECT_THAT(s.message(), HasSubstr("argument 'x' must be a finite number"))
        << d;
  }
}

TEST(BindArgsTest, BoundsAreInclusive) {
  EXPECT_TRUE(BindArgs(SleepSpec(), Args({Num(0)}), {}).ok());
  EXPECT_TRUE(BindArgs(SleepSpec(), Args({Num(86400)}), {}).ok());
}

TEST(BindArgsTest, BelowMinimum) {
  absl::Status s = BindError(SleepSpec(), Args({Num(-1)}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "sleep() argument 'seconds' must be >= 0, got -1");
}

TEST(BindArgsTest, AboveMaximum) {
  absl::Status s = BindError(SleepSpec(), Args({Num(86400.5)}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "sleep() argument 'seconds' must be <= 86400, got 86400.5");
}

TEST(BindArgsTest, IntegerAcceptsIntegralNumbers) {
  for (double d :
       {0.0, -3.0, 20.0, 9007199254740993.0, -9223372036854775808.0}) {
    absl::StatusOr<BoundArgs> bound =
        BindArgs(FactorialSpec(), Args({Num(d)}), {});
    ASSERT_TRUE(bound.ok()) << bound.status();
    EXPECT_EQ(bound->Integer(0), static_cast<int64_t>(d));
  }
}

TEST(BindArgsTest, IntegerRejectsFraction) {
  absl::Status s = BindError(FactorialSpec(), Args({Num(2.5)}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "factorial() argument 'n' must be an integer, got 2.5");
}

TEST(BindArgsTest, IntegerRejectsString) {
  absl::Status s = BindError(FactorialSpec(), Args({Str("5")}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "factorial() argument 'n' must be an integer, got string");
}

TEST(BindArgsTest, IntegerRejectsValuesOutsideInt64) {
  // 2^63 is the first double past INT64_MAX.
  for (double d : {9223372036854775808.0, -9223372036854777856.0, 1e300}) {
    absl::Status s = BindError(FactorialSpec(), Args({Num(d)}));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << d;
    EXPECT_THAT(s.message(), HasSubstr("argument 'n' must be a 64-bit integer"))
        << d;
  }
}

TEST(BindArgsTest, IntegerRejectsNan) {
  absl::Status s = BindError(
      FactorialSpec(), Args({Num(std::numeric_limits<double>::quiet_NaN())}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("argument 'n' must be a finite number"));
}

TEST(BindArgsTest, IntegerBounds) {
  TaskSpec spec = Spec(
      "f", {{.name = "n", .type = ParamType::kInteger, .min = 1, .max = 10}});
  EXPECT_TRUE(BindArgs(spec, Args({Num(1)}), {}).ok());
  EXPECT_TRUE(BindArgs(spec, Args({Num(10)}), {}).ok());
  EXPECT_EQ(BindError(spec, Args({Num(0)})).message(),
            "f() argument 'n' must be >= 1, got 0");
  EXPECT_EQ(BindError(spec, Args({Num(11)})).message(),
            "f() argument 'n' must be <= 10, got 11");
}

TEST(BindArgsTest, AnyAcceptsEveryKindIncludingNull) {
  TaskSpec spec = Spec("echo", {{.name = "value", .type = ParamType::kAny}});
  for (const Value& v : {Null(), Num(1), Str("s"), Bool(false), List({Num(1)}),
                         Object({{"k", Null()}})}) {
    absl::StatusOr<BoundArgs> bound = BindArgs(spec, Args({v}), {});
    ASSERT_TRUE(bound.ok()) << bound.status();
    EXPECT_TRUE(MessageDifferencer::Equals(bound->Get(0), v))
        << v.DebugString();
  }
}

TEST(BindArgsTest, EmptyValueMessageBindsAsNull) {
  TaskSpec spec = Spec("echo", {{.name = "value", .type = ParamType::kAny}});
  absl::StatusOr<BoundArgs> bound = BindArgs(spec, Args({Value()}), {});
  ASSERT_TRUE(bound.ok()) << bound.status();
  EXPECT_EQ(bound->Get(0).kind_case(), Value::kNullValue);
}

TEST(BindArgsTest, EachTypeChecksItsKind) {
  struct Case {
    ParamType type;
    Value good;
    Value bad;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {ParamType::kString, Str("s"), Num(1),
            "f() argument 'p' must be a string, got number"},
           {ParamType::kBool, Bool(true), Str("true"),
            "f() argument 'p' must be a bool, got string"},
           {ParamType::kList, List({}), Object({}),
            "f() argument 'p' must be a list, got object"},
           {ParamType::kObject, Object({}), List({}),
            "f() argument 'p' must be an object, got list"},
       }) {
    TaskSpec spec = Spec("f", {{.name = "p", .type = c.type}});
    EXPECT_TRUE(BindArgs(spec, Args({c.good}), {}).ok())
        << ParamTypeName(c.type);
    absl::Status s = BindError(spec, Args({c.bad}));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message(), c.message);
  }
}

TEST(BoundArgsTest, Accessors) {
  BoundArgs args({Num(-7), Str("s"), Bool(true)});
  ASSERT_EQ(args.size(), 3u);
  EXPECT_EQ(args.Number(0), -7);
  EXPECT_EQ(args.Integer(0), -7);
  EXPECT_EQ(args.String(1), "s");
  EXPECT_TRUE(args.Bool(2));
}

TEST(TaskRegistryTest, RegisterThenFind) {
  TaskRegistry registry;
  ASSERT_TRUE(registry.Register(SleepSpec()).ok());
  absl::StatusOr<const TaskSpec*> spec = registry.Find("sleep");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ((*spec)->name, "sleep");
  EXPECT_EQ((*spec)->Signature(), "sleep(seconds: number)");
}

TEST(TaskRegistryTest, FindUnknownIsNotFoundNamingTheFunction) {
  TaskRegistry registry;
  ASSERT_TRUE(registry.Register(SleepSpec()).ok());
  absl::StatusOr<const TaskSpec*> spec = registry.Find("nope");
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(spec.status().message(), "function 'nope' is not registered");
}

TEST(TaskRegistryTest, DuplicateNameIsAlreadyExists) {
  TaskRegistry registry;
  ASSERT_TRUE(registry.Register(SleepSpec()).ok());
  absl::Status s = registry.Register(SleepSpec());
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(s.message(), HasSubstr("'sleep'"));
}

TEST(TaskRegistryTest, EmptyNameIsInvalid) {
  TaskRegistry registry;
  EXPECT_EQ(registry.Register(Spec("", {})).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TaskRegistryTest, MissingFunctionIsInvalid) {
  TaskRegistry registry;
  TaskSpec spec = Spec("f", {});
  spec.function = nullptr;
  absl::Status s = registry.Register(std::move(spec));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'f'"));
}

TEST(TaskRegistryTest, DuplicateParameterIsInvalid) {
  TaskRegistry registry;
  absl::Status s = registry.Register(
      Spec("f", {{.name = "a"}, {.name = "b"}, {.name = "a"}}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'a'"));
}

TEST(TaskRegistryTest, UnnamedParameterIsInvalid) {
  TaskRegistry registry;
  EXPECT_EQ(registry.Register(Spec("f", {{.name = ""}})).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TaskRegistryTest, RequiredAfterOptionalIsInvalid) {
  TaskRegistry registry;
  absl::Status s = registry.Register(
      Spec("f", {{.name = "a", .default_value = Null()}, {.name = "b"}}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'b'"));
}

TEST(TaskRegistryTest, DefaultThatDoesNotFitItsParameterIsInvalid) {
  TaskRegistry registry;
  absl::Status s = registry.Register(Spec("f", {{.name = "n",
                                                 .type = ParamType::kNumber,
                                                 .default_value = Num(-1),
                                                 .min = 0}}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'n' must be >= 0"));
}

TEST(TaskRegistryTest, FailedRegistrationLeavesNoEntry) {
  TaskRegistry registry;
  TaskSpec spec = Spec("f", {});
  spec.function = nullptr;
  ASSERT_FALSE(registry.Register(std::move(spec)).ok());
  EXPECT_EQ(registry.Find("f").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(registry.List().empty());
}

TEST(TaskRegistryTest, ListIsSortedByName) {
  TaskRegistry registry;
  for (const char* name : {"square", "echo", "sleep", "factorial"}) {
    ASSERT_TRUE(registry.Register(Spec(name, {})).ok()) << name;
  }
  std::vector<std::string> names;
  for (const TaskSpec* spec : registry.List()) names.push_back(spec->name);
  EXPECT_THAT(names, ElementsAre("echo", "factorial", "sleep", "square"));
}

}  // namespace
}  // namespace futured::server
