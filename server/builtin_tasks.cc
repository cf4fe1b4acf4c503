#include "server/builtin_tasks.h"

#include <gmp.h>

#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace futured {
namespace {

using ::google::protobuf::Value;

Value NumberValue(double d) {
  Value v;
  v.set_number_value(d);
  return v;
}

Value StringValue(std::string s) {
  Value v;
  v.set_string_value(std::move(s));
  return v;
}

// A GMP integer that frees itself.
class BigInt {
 public:
  BigInt() { mpz_init(value_); }
  ~BigInt() { mpz_clear(value_); }
  BigInt(const BigInt&) = delete;
  BigInt& operator=(const BigInt&) = delete;

  mpz_ptr get() { return value_; }

  std::string ToDecimal() const {
    // mpz_sizeinbase may overstate by one; room for a sign and the NUL too.
    std::string digits(mpz_sizeinbase(value_, 10) + 2, '\0');
    mpz_get_str(digits.data(), 10, value_);
    digits.resize(std::strlen(digits.c_str()));
    return digits;
  }

 private:
  mpz_t value_;
};

Outcome Sleep(const TaskContext& ctx, const BoundArgs& args) {
  const double seconds = args.Number(0);
  if (!ctx.SleepFor(absl::Seconds(seconds))) return Cancelled{};
  return NumberValue(seconds);
}

Outcome Echo(const TaskContext& ctx, const BoundArgs& args) {
  return args.Get(0);
}

Outcome Square(const TaskContext& ctx, const BoundArgs& args) {
  const double x = args.Number(0);
  const double result = x * x;
  // JSON has no infinity; report it as Python's float ** does.
  if (!std::isfinite(result)) {
    return TaskError{
        "OverflowError", absl::StrCat("square of ", x, " is out of range"), {}};
  }
  return NumberValue(result);
}

Outcome Fail(const TaskContext& ctx, const BoundArgs& args) {
  const std::string& type = args.String(0);
  return TaskError{type.empty() ? "RuntimeError" : type, args.String(1), {}};
}

Outcome Factorial(const TaskContext& ctx, const BoundArgs& args) {
  if (ctx.IsCancelled()) return Cancelled{};
  BigInt result;
  mpz_fac_ui(result.get(), static_cast<unsigned long>(args.Integer(0)));
  return StringValue(result.ToDecimal());
}

Outcome SimulateDownload(const TaskContext& ctx, const BoundArgs& args) {
  if (!ctx.SleepFor(absl::Seconds(args.Number(1)))) return Cancelled{};
  return StringValue(absl::StrCat("Content from ", args.String(0)));
}

}  // namespace

absl::Status RegisterBuiltinTasks(TaskRegistry& registry) {
  std::vector<TaskSpec> specs;
  specs.push_back({
      .name = "sleep",
      .description = "Sleeps for the given seconds and returns them; stops at "
                     "once when cancelled.",
      .params = {{.name = "seconds",
                  .type = ParamType::kNumber,
                  .min = 0,
                  .max = 86400}},
      .function = Sleep,
  });
  specs.push_back({
      .name = "echo",
      .description = "Returns its argument unchanged.",
      .params = {{.name = "value", .type = ParamType::kAny}},
      .function = Echo,
  });
  specs.push_back({
      .name = "square",
      .description = "Returns x * x.",
      .params = {{.name = "x", .type = ParamType::kNumber}},
      .function = Square,
  });
  specs.push_back({
      .name = "fail",
      .description = "Raises an error of the given type with the given "
                     "message.",
      .params = {{.name = "type",
                  .type = ParamType::kString,
                  .default_value = StringValue("RuntimeError")},
                 {.name = "message",
                  .type = ParamType::kString,
                  .default_value = StringValue("task failed")}},
      .function = Fail,
  });
  specs.push_back({
      .name = "factorial",
      .description = "Returns n! as a decimal string.",
      .params =
          {{.name = "n", .type = ParamType::kInteger, .min = 0, .max = 200000}},
      .function = Factorial,
  });
  specs.push_back({
      .name = "simulate_download",
      .description = "Sleeps for the given seconds, then returns \"Content "
                     "from <url>\".",
      .params = {{.name = "url", .type = ParamType::kString},
                 {.name = "seconds",
                  .type = ParamType::kNumber,
                  .default_value = NumberValue(2),
                  .min = 0,
                  .max = 3600}},
      .function = SimulateDownload,
  });
  for (TaskSpec& spec : specs) {
    absl::Status status = registry.Register(std::move(spec));
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace futured
