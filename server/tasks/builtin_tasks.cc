#include "server/tasks/builtin_tasks.h"

#include <gmp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "server/tasks/exec_task.h"
#include "server/tasks/http_get_task.h"
#include "server/tasks/sha256_task.h"
#include "server/tasks/value_builders.h"

namespace futured::server {
namespace {

using ::google::protobuf::Value;

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

// How often a sleeping task reports its progress.
constexpr absl::Duration kSleepProgressStep = absl::Milliseconds(100);

// Sleeps `seconds`, reporting "slept 1.2 of 5 s" about every
// kSleepProgressStep. False if cancelled first.
bool SleepReportingProgress(const TaskContext& ctx, double seconds) {
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(seconds);
  while (true) {
    const absl::Time now = absl::Now();
    const double slept = std::min(absl::ToDoubleSeconds(now - start), seconds);
    ctx.ReportProgress(seconds > 0 ? slept / seconds : 1.0,
                       absl::StrFormat("slept %.1f of %g s", slept, seconds));
    if (now >= end) return true;
    if (!ctx.SleepFor(std::min(end - now, kSleepProgressStep))) return false;
  }
}

Outcome Sleep(const TaskContext& ctx, const BoundArgs& args) {
  const double seconds = args.Number(0);
  if (!SleepReportingProgress(ctx, seconds)) return Cancelled{};
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
  if (!SleepReportingProgress(ctx, args.Number(1))) return Cancelled{};
  return StringValue(absl::StrCat("Content from ", args.String(0)));
}

// The seed's potentially_failing_task: sleeps, then raises or returns.
Outcome PotentiallyFailingTask(const TaskContext& ctx, const BoundArgs& args) {
  const int64_t task_id = args.Integer(0);
  if (!ctx.SleepFor(absl::Seconds(args.Number(2)))) return Cancelled{};
  if (args.Bool(1)) {
    return TaskError{"ValueError",
                     absl::StrCat("Task ", task_id, " failed deliberately"),
                     {}};
  }
  return StringValue(absl::StrCat("Result from task ", task_id));
}

// Pages are touched one in this many bytes, so that allocate() really uses
// the memory it asks for.
constexpr size_t kPageBytes = 4096;
// allocate() checks for cancellation after touching this many bytes.
constexpr size_t kAllocateCheckBytes = size_t{64} << 20;

Outcome Crash(const TaskContext& ctx, const BoundArgs& args) {
  if (ctx.pool_kind() != PoolKind::kProcess) {
    return TaskError{"RuntimeError",
                     "crash() runs only in a process pool: here it would "
                     "take the daemon down",
                     {}};
  }
  const std::string& kind = args.String(0);
  if (kind == "segv") {
    std::raise(SIGSEGV);
  } else if (kind == "abort") {
    std::abort();
  } else if (kind == "exit") {
    std::exit(static_cast<int>(args.Integer(1)));
  }
  return TaskError{
      "ValueError",
      absl::StrCat("crash() kind must be segv, abort or exit, got '", kind,
                   "'"),
      {}};
}

Outcome BurnCpu(const TaskContext& ctx, const BoundArgs& args) {
  const double seconds = args.Number(0);
  const auto end =
      std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  volatile uint64_t sink = 0;
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() < end) {
    for (int i = 0; i < 100000; ++i) sink = sink * 6364136223846793005u + 1;
    if (ctx.IsCancelled()) return Cancelled{};
    const double burned =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    // Often, but cheap: reports are coalesced.
    ctx.ReportProgress(burned / seconds,
                       absl::StrFormat("burned %.1f of %g s", burned, seconds));
  }
  return NumberValue(seconds);
}

Outcome Allocate(const TaskContext& ctx, const BoundArgs& args) {
  const auto bytes = static_cast<size_t>(args.Integer(0));
  char* memory = static_cast<char*>(std::malloc(bytes));
  if (memory == nullptr && bytes > 0) {
    return TaskError{
        "MemoryError", absl::StrCat("cannot allocate ", bytes, " bytes"), {}};
  }
  for (size_t i = 0; i < bytes; i += kPageBytes) {
    memory[i] = 1;
    if (i % kAllocateCheckBytes == 0 && ctx.IsCancelled()) {
      std::free(memory);
      return Cancelled{};
    }
  }
  std::free(memory);
  return NumberValue(static_cast<double>(bytes));
}

Outcome Pid(const TaskContext& ctx, const BoundArgs& args) {
  return NumberValue(getpid());
}

}  // namespace

absl::Status RegisterBuiltinTasks(TaskRegistry& registry,
                                  BuiltinTaskOptions options) {
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
  specs.push_back({
      .name = "potentially_failing_task",
      .description = "Sleeps for sleep_time seconds, then raises ValueError "
                     "\"Task <task_id> failed deliberately\" if fail is set, "
                     "else returns \"Result from task <task_id>\"; stops at "
                     "once when cancelled.",
      .params = {{.name = "task_id", .type = ParamType::kInteger},
                 {.name = "fail",
                  .type = ParamType::kBool,
                  .default_value = BoolValue(false)},
                 {.name = "sleep_time",
                  .type = ParamType::kNumber,
                  .default_value = NumberValue(2),
                  .min = 0,
                  .max = 86400}},
      .function = PotentiallyFailingTask,
  });
  specs.push_back({
      .name = "crash",
      .description = "Kills its worker process: kind \"segv\" (SIGSEGV), "
                     "\"abort\" (SIGABRT) or \"exit\" (exit code `code`). "
                     "Process pools only.",
      .params = {{.name = "kind", .type = ParamType::kString},
                 {.name = "code",
                  .type = ParamType::kInteger,
                  .default_value = NumberValue(1),
                  .min = 0,
                  .max = 255}},
      .function = Crash,
  });
  specs.push_back({
      .name = "burn_cpu",
      .description = "Keeps a CPU busy for the given seconds and returns "
                     "them; in a thread pool it stops when cancelled.",
      .params = {{.name = "seconds",
                  .type = ParamType::kNumber,
                  .min = 0,
                  .max = 86400}},
      .function = BurnCpu,
  });
  specs.push_back({
      .name = "allocate",
      .description = "Allocates and touches the given number of bytes, "
                     "frees them and returns the number; MemoryError if it "
                     "cannot.",
      .params = {{.name = "bytes",
                  .type = ParamType::kInteger,
                  .min = 0,
                  .max = 1099511627776.0}},  // 1 TiB
      .function = Allocate,
  });
  specs.push_back({
      .name = "pid",
      .description = "Returns the process ID it runs in: a worker's in a "
                     "process pool, the daemon's in a thread pool.",
      .params = {},
      .function = Pid,
  });
  specs.push_back(HttpGetTaskSpec());
  specs.push_back(ExecTaskSpec(std::move(options.exec)));
  specs.push_back(Sha256TaskSpec());
  for (TaskSpec& spec : specs) {
    absl::Status status = registry.Register(std::move(spec));
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace futured::server
