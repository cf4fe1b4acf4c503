#include "server/tasks/builtin_tasks.h"

#include <unistd.h>

#include <optional>
#include <string>
#include <thread>
#include <variant>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "server/task/cancellation_token.h"
#include "server/task/task_context.h"
#include "tests/server/value_builders.h"

namespace futured::server {
namespace {

using ::futured::testing::Args;
using ::futured::testing::Bool;
using ::futured::testing::Kwargs;
using ::futured::testing::Num;
using ::futured::testing::Str;
using ::google::protobuf::RepeatedPtrField;
using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Long enough for any healthy run; a task stuck past it is a failure.
constexpr absl::Duration kTestTimeout = absl::Seconds(30);

class BuiltinTasksTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(RegisterBuiltinTasks(registry_).ok()); }

  // Finds `function`, binds the arguments and runs it on this thread with
  // token_. Binding must succeed.
  Outcome Call(absl::string_view function, const RepeatedPtrField<Value>& args,
               const Struct& kwargs = Struct()) {
    absl::StatusOr<const TaskSpec*> spec = registry_.Find(function);
    EXPECT_TRUE(spec.ok()) << spec.status();
    if (!spec.ok()) return TaskError{"TestError", "not registered", {}};
    absl::StatusOr<BoundArgs> bound = BindArgs(**spec, args, kwargs);
    EXPECT_TRUE(bound.ok()) << bound.status();
    if (!bound.ok()) return TaskError{"TestError", "bad arguments", {}};
    const TaskContext ctx(token_, absl::InfiniteFuture());
    return (*spec)->function(ctx, *bound);
  }

  // The status of binding arguments to `function`.
  absl::Status BindStatus(absl::string_view function,
                          const RepeatedPtrField<Value>& args,
                          const Struct& kwargs = Struct()) {
    absl::StatusOr<const TaskSpec*> spec = registry_.Find(function);
    if (!spec.ok()) return spec.status();
    return BindArgs(**spec, args, kwargs).status();
  }

  TaskRegistry registry_;
  CancellationToken token_;
};

// The value a task returned; fails the test if it raised or was cancelled.
Value ValueOf(const Outcome& outcome) {
  const Value* value = std::get_if<Value>(&outcome);
  EXPECT_NE(value, nullptr)
      << "outcome is not a value, index " << outcome.index();
  return value != nullptr ? *value : Value();
}

TEST_F(BuiltinTasksTest, RegistersExactlyTheBuiltins) {
  std::vector<std::string> signatures;
  for (const TaskSpec* spec : registry_.List()) {
    EXPECT_FALSE(spec->description.empty()) << spec->name;
    EXPECT_EQ(spec->description.find('\n'), std::string::npos) << spec->name;
    signatures.push_back(spec->Signature());
  }
  EXPECT_THAT(
      signatures,
      ElementsAre("allocate(bytes: integer)", "burn_cpu(seconds: number)",
                  "crash(kind: string, code: integer = 1)", "echo(value: any)",
                  "exec(argv: list, stdin: string = \"\", env: object = {}, "
                  "cwd: string = \"\", timeout: any = null, max_output_bytes: "
                  "integer = 1048576, text: bool = true)",
                  "factorial(n: integer)",
                  "fail(type: string = \"RuntimeError\", message: string = "
                  "\"task failed\")",
                  "hash.sha256(path: any = null, data: any = null, "
                  "data_base64: any = null)",
                  "http.get(url: string, timeout: number = 30, max_bytes: "
                  "integer = 10485760)",
                  "pid()",
                  "potentially_failing_task(task_id: integer, fail: bool = "
                  "false, sleep_time: number = 2)",
                  "simulate_download(url: string, seconds: number = 2)",
                  "sleep(seconds: number)", "square(x: number)"));
}

TEST_F(BuiltinTasksTest, RegisteringTwiceIsAlreadyExists) {
  EXPECT_EQ(RegisterBuiltinTasks(registry_).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(BuiltinTasksTest, SleepZeroReturnsSeconds) {
  EXPECT_EQ(ValueOf(Call("sleep", Args({Num(0)}))).number_value(), 0);
}

TEST_F(BuiltinTasksTest, SleepAlreadyCancelledReturnsCancelledAtOnce) {
  token_.Cancel();
  // Were the cancel ignored, this would sleep an hour and time the test out.
  EXPECT_TRUE(IsCancelled(Call("sleep", Args({Num(3600)}))));
}

TEST_F(BuiltinTasksTest, SleepStopsWhenCancelledFromAnotherThread) {
  absl::Notification started;
  absl::Notification finished;
  std::optional<Outcome> outcome;
  std::thread task([&] {
    started.Notify();
    outcome = Call("sleep", Args({Num(3600)}));
    finished.Notify();
  });
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(kTestTimeout));
  // The task is in (or about to enter) its hour-long sleep; either way this
  // cancel, from the test's thread, must end it.
  token_.Cancel();
  const bool done = finished.WaitForNotificationWithTimeout(kTestTimeout);
  EXPECT_TRUE(done) << "sleep did not stop on cancel";
  task.join();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_TRUE(IsCancelled(*outcome));
}

TEST_F(BuiltinTasksTest, SleepBadArguments) {
  for (const absl::Status& s :
       {BindStatus("sleep", {}), BindStatus("sleep", Args({Str("1")})),
        BindStatus("sleep", Args({Num(-1)})),
        BindStatus("sleep", Args({Num(86401)})),
        BindStatus("sleep", {}, Kwargs({{"secs", Num(1)}}))}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  }
  EXPECT_THAT(BindStatus("sleep", Args({Num(-1)})).message(),
              HasSubstr("'seconds'"));
}

TEST_F(BuiltinTasksTest, EchoRoundTripsNestedStruct) {
  Value value;
  auto& fields = *value.mutable_struct_value()->mutable_fields();
  fields["name"].set_string_value("futured");
  fields["n"].set_number_value(3.25);
  fields["ok"].set_bool_value(true);
  fields["none"].set_null_value(google::protobuf::NULL_VALUE);
  auto* list = fields["list"].mutable_list_value();
  list->add_values()->set_number_value(1);
  (*list->add_values()->mutable_struct_value()->mutable_fields())["deep"]
      .set_string_value("yes");

  const Value echoed = ValueOf(Call("echo", Args({value})));
  EXPECT_TRUE(MessageDifferencer::Equals(echoed, value))
      << echoed.DebugString();
  EXPECT_EQ(echoed.struct_value()
                .fields()
                .at("list")
                .list_value()
                .values(1)
                .struct_value()
                .fields()
                .at("deep")
                .string_value(),
            "yes");
}

TEST_F(BuiltinTasksTest, EchoByKeyword) {
  EXPECT_EQ(
      ValueOf(Call("echo", {}, Kwargs({{"value", Str("hi")}}))).string_value(),
      "hi");
}

TEST_F(BuiltinTasksTest, EchoBadArguments) {
  EXPECT_EQ(BindStatus("echo", {}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BindStatus("echo", Args({Num(1), Num(2)})).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(BuiltinTasksTest, SquareOfThreeIsNine) {
  EXPECT_EQ(ValueOf(Call("square", Args({Num(3)}))).number_value(), 9);
  EXPECT_EQ(ValueOf(Call("square", Args({Num(-1.5)}))).number_value(), 2.25);
}

TEST_F(BuiltinTasksTest, SquareOverflowRaises) {
  const Outcome outcome = Call("square", Args({Num(1e200)}));
  ASSERT_TRUE(IsError(outcome));
  EXPECT_EQ(std::get<TaskError>(outcome).type, "OverflowError");
}

TEST_F(BuiltinTasksTest, SquareBadArguments) {
  absl::Status s = BindStatus("square", Args({Str("3")}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'x'"));
}

TEST_F(BuiltinTasksTest, FailRaisesGivenTypeAndMessage) {
  const Outcome outcome =
      Call("fail", Args({Str("ValueError"), Str("bad value")}));
  ASSERT_TRUE(IsError(outcome));
  EXPECT_EQ(std::get<TaskError>(outcome).type, "ValueError");
  EXPECT_EQ(std::get<TaskError>(outcome).message, "bad value");
}

TEST_F(BuiltinTasksTest, FailDefaults) {
  const Outcome outcome = Call("fail", {});
  ASSERT_TRUE(IsError(outcome));
  EXPECT_EQ(std::get<TaskError>(outcome).type, "RuntimeError");
  EXPECT_EQ(std::get<TaskError>(outcome).message, "task failed");
}

TEST_F(BuiltinTasksTest, FailEmptyTypeIsRuntimeError) {
  const Outcome outcome =
      Call("fail", {}, Kwargs({{"type", Str("")}, {"message", Str("m")}}));
  ASSERT_TRUE(IsError(outcome));
  EXPECT_EQ(std::get<TaskError>(outcome).type, "RuntimeError");
  EXPECT_EQ(std::get<TaskError>(outcome).message, "m");
}

TEST_F(BuiltinTasksTest, FailBadArguments) {
  absl::Status s = BindStatus("fail", Args({Num(1)}));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("'type'"));
  EXPECT_EQ(BindStatus("fail", {}, Kwargs({{"msg", Str("m")}})).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(BuiltinTasksTest, FactorialSmallValues) {
  EXPECT_EQ(ValueOf(Call("factorial", Args({Num(0)}))).string_value(), "1");
  EXPECT_EQ(ValueOf(Call("factorial", Args({Num(1)}))).string_value(), "1");
  EXPECT_EQ(ValueOf(Call("factorial", Args({Num(20)}))).string_value(),
            "2432902008176640000");
  EXPECT_EQ(ValueOf(Call("factorial", Args({Num(25)}))).string_value(),
            "15511210043330985984000000");
}

TEST_F(BuiltinTasksTest, FactorialOfThousandHas2568Digits) {
  const std::string digits =
      ValueOf(Call("factorial", Args({Num(1000)}))).string_value();
  EXPECT_EQ(digits.size(), 2568u);
  EXPECT_EQ(digits.substr(0, 10), "4023872600");
  EXPECT_EQ(digits.find_first_not_of("0123456789"), std::string::npos);
}

TEST_F(BuiltinTasksTest, FactorialCancelledReturnsCancelled) {
  token_.Cancel();
  EXPECT_TRUE(IsCancelled(Call("factorial", Args({Num(200000)}))));
}

TEST_F(BuiltinTasksTest, FactorialBadArguments) {
  for (const Value& bad : {Num(2.5), Num(-1), Num(200001), Str("5")}) {
    absl::Status s = BindStatus("factorial", Args({bad}));
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_THAT(s.message(), HasSubstr("'n'"));
  }
}

TEST_F(BuiltinTasksTest, SimulateDownloadReturnsContent) {
  EXPECT_EQ(ValueOf(Call("simulate_download", Args({Str("http://x")}),
                         Kwargs({{"seconds", Num(0)}})))
                .string_value(),
            "Content from http://x");
}

TEST_F(BuiltinTasksTest, SimulateDownloadCancelledReturnsCancelled) {
  token_.Cancel();
  // With the default two seconds; cancelled, it must not sleep at all.
  EXPECT_TRUE(IsCancelled(Call("simulate_download", Args({Str("http://x")}))));
}

TEST_F(BuiltinTasksTest, SimulateDownloadBadArguments) {
  for (const absl::Status& s :
       {BindStatus("simulate_download", {}),
        BindStatus("simulate_download", Args({Num(1)})),
        BindStatus("simulate_download", Args({Str("u"), Num(3601)})),
        BindStatus("simulate_download", Args({Str("u")}),
                   Kwargs({{"url", Str("v")}}))}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  }
  EXPECT_THAT(
      BindStatus("simulate_download", Args({Str("u"), Num(-1)})).message(),
      HasSubstr("'seconds'"));
}

TEST_F(BuiltinTasksTest, PotentiallyFailingTaskReturnsItsResult) {
  EXPECT_EQ(ValueOf(Call("potentially_failing_task", Args({Num(3)}),
                         Kwargs({{"sleep_time", Num(0)}})))
                .string_value(),
            "Result from task 3");
}

TEST_F(BuiltinTasksTest, PotentiallyFailingTaskWithFailRaisesValueError) {
  const Outcome outcome =
      Call("potentially_failing_task", Args({Num(2), Bool(true), Num(0)}));
  ASSERT_TRUE(IsError(outcome));
  EXPECT_EQ(std::get<TaskError>(outcome).type, "ValueError");
  EXPECT_EQ(std::get<TaskError>(outcome).message, "Task 2 failed deliberately");
}

TEST_F(BuiltinTasksTest, PotentiallyFailingTaskCancelledReturnsCancelled) {
  token_.Cancel();
  // With the default two seconds; cancelled, it must neither sleep nor fail.
  EXPECT_TRUE(IsCancelled(Call("potentially_failing_task", Args({Num(1)}),
                               Kwargs({{"fail", Bool(true)}}))));
}

TEST_F(BuiltinTasksTest, PotentiallyFailingTaskBadArguments) {
  for (const absl::Status& s :
       {BindStatus("potentially_failing_task", {}),
        BindStatus("potentially_failing_task", Args({Num(1.5)})),
        BindStatus("potentially_failing_task", Args({Num(1), Str("yes")})),
        BindStatus("potentially_failing_task", Args({Num(1)}),
                   Kwargs({{"sleep_time", Num(-1)}}))}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  }
  EXPECT_THAT(
      BindStatus("potentially_failing_task", Args({Str("1")})).message(),
      HasSubstr("'task_id'"));
}

// crash(), burn_cpu(), allocate() and pid() in a process are tested by
// process_pool_test.cc; here, what they do on a thread of the daemon.

TEST_F(BuiltinTasksTest, CrashRefusesToRunInAThreadPool) {
  for (const char* kind : {"segv", "abort", "exit"}) {
    const Outcome outcome = Call("crash", Args({Str(kind)}));
    ASSERT_TRUE(IsError(outcome)) << kind;
    EXPECT_EQ(std::get<TaskError>(outcome).type, "RuntimeError");
    EXPECT_THAT(std::get<TaskError>(outcome).message,
                HasSubstr("crash() runs only in a process pool"));
  }
}

TEST_F(BuiltinTasksTest, BurnCpuReturnsItsSeconds) {
  EXPECT_EQ(ValueOf(Call("burn_cpu", Args({Num(0.01)}))).number_value(), 0.01);
}

TEST_F(BuiltinTasksTest, BurnCpuStopsWhenCancelledFromAnotherThread) {
  std::thread canceller([this] { token_.Cancel(); });
  // An hour unless cancellation stops it.
  const Outcome outcome = Call("burn_cpu", Args({Num(3600)}));
  canceller.join();
  EXPECT_TRUE(IsCancelled(outcome));
}

TEST_F(BuiltinTasksTest, AllocateTouchesAndReturnsTheBytes) {
  EXPECT_EQ(ValueOf(Call("allocate", Args({Num(1 << 20)}))).number_value(),
            1 << 20);
  EXPECT_EQ(ValueOf(Call("allocate", Args({Num(0)}))).number_value(), 0);
}

TEST_F(BuiltinTasksTest, AllocateMoreThanTheMachineHasIsMemoryError) {
  const Outcome outcome = Call("allocate", Args({Num(1099511627776.0)}));
  ASSERT_TRUE(IsError(outcome));
  EXPECT_EQ(std::get<TaskError>(outcome).type, "MemoryError");
}

TEST_F(BuiltinTasksTest, PidIsThisProcessOnAThread) {
  EXPECT_EQ(ValueOf(Call("pid", Args({}))).number_value(), getpid());
}

}  // namespace
}  // namespace futured::server
