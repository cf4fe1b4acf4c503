// futurectl against a test daemon, run as a user would run it: each
// subcommand's JSON lines and exit status, including a failed task (2), a
// timeout (3), a cancelled future (4), an unreachable daemon (5), a refused
// call (6) and usage errors (1); and its progress bar, drawn on a terminal
// only.

#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "futured/futured.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/client_fixture.h"
#include "tests/integration/program_run.h"

namespace futured::testing {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

// The exit codes futurectl documents (client/futurectl/exit_code.h).
constexpr int kOk = 0;
constexpr int kUsage = 1;
constexpr int kTaskFailed = 2;
constexpr int kTimedOut = 3;
constexpr int kCancelled = 4;
constexpr int kUnreachable = 5;
constexpr int kRpcError = 6;

// The value at `path` inside JSON objects, or a null-kind Value if absent.
Value At(const Value& value, std::initializer_list<std::string> path) {
  const Value* current = &value;
  for (const std::string& key : path) {
    if (!current->has_struct_value()) return Value();
    const auto& fields = current->struct_value().fields();
    const auto it = fields.find(key);
    if (it == fields.end()) return Value();
    current = &it->second;
  }
  return *current;
}

std::string StringAt(const Value& value,
                     std::initializer_list<std::string> path) {
  return At(value, path).string_value();
}

// The string items of a JSON list.
std::vector<std::string> Strings(const Value& list) {
  std::vector<std::string> strings;
  for (const Value& item : list.list_value().values()) {
    strings.push_back(item.string_value());
  }
  return strings;
}

class FuturectlTest : public ClientTest {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(StartDaemon()); }

  // Runs `futurectl --target <the daemon> args...`.
  ProgramResult Ctl(std::vector<std::string> args,
                    const ProgramOptions& options = {}) {
    args.insert(args.begin(),
                {FUTURECTL_BINARY, "--target", daemon_->address()});
    return RunAny(args, options);
  }

  // Runs futurectl with exactly `args` (no --target).
  static ProgramResult RunAny(std::vector<std::string> args,
                              const ProgramOptions& options = {}) {
    if (args.empty() || args[0] != FUTURECTL_BINARY) {
      args.insert(args.begin(), FUTURECTL_BINARY);
    }
    absl::StatusOr<ProgramResult> result = RunProgram(args, options);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : ProgramResult{};
  }

  // stdout's lines, each parsed as JSON.
  static std::vector<Value> JsonLines(const ProgramResult& result) {
    std::vector<Value> values;
    for (const std::string& line : Lines(result.out)) {
      try {
        values.push_back(ParseJson(line));
      } catch (const ValueError& e) {
        ADD_FAILURE() << "not JSON: " << line << ": " << e.what();
      }
    }
    return values;
  }

  // The one JSON document a command printed.
  static Value OneJson(const ProgramResult& result) {
    const std::vector<Value> values = JsonLines(result);
    EXPECT_THAT(values, SizeIs(1)) << result.out << result.err;
    return values.empty() ? Value() : values[0];
  }

  // `futurectl submit args...`; returns the future's ID.
  std::string Submit(std::vector<std::string> args) {
    args.insert(args.begin(), "submit");
    const ProgramResult result = Ctl(args);
    EXPECT_EQ(result.exit_code, kOk) << result.err;
    const std::string id = StringAt(OneJson(result), {"id"});
    EXPECT_FALSE(id.empty()) << result.out;
    return id;
  }

  // A socket path in the daemon's directory that nothing listens on.
  std::string UnusedTarget() const {
    const std::string& address = daemon_->address();
    return absl::StrCat(address.substr(0, address.rfind('/')), "/nobody.sock");
  }
};

TEST_F(FuturectlTest, HealthIsServing) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"health"},
        std::vector<std::string>{"health", "--service",
                                 "futured.v1.Executor"}}) {
    const ProgramResult result = Ctl(args);
    EXPECT_EQ(result.exit_code, kOk) << result.err;
    EXPECT_EQ(result.out, "{\"status\":\"SERVING\"}\n");
  }
  const ProgramResult unknown = Ctl({"health", "--service", "no.such.Service"});
  EXPECT_EQ(unknown.exit_code, kRpcError);
  EXPECT_THAT(unknown.err, HasSubstr("NOT_FOUND"));
}

TEST_F(FuturectlTest, FunctionsPrintsOneLinePerFunction) {
  const ProgramResult result = Ctl({"functions"});
  EXPECT_EQ(result.exit_code, kOk) << result.err;
  std::set<std::string> names;
  for (const Value& function : JsonLines(result)) {
    names.insert(StringAt(function, {"name"}));
    EXPECT_FALSE(StringAt(function, {"signature"}).empty());
  }
  std::set<std::string> expected;
  for (const FunctionInfo& function : client_->functions()) {
    expected.insert(function.name);
  }
  EXPECT_EQ(names, expected);
  EXPECT_TRUE(names.contains("potentially_failing_task"));
}

TEST_F(FuturectlTest, StatsNamesThePools) {
  const ProgramResult result = Ctl({"stats"});
  EXPECT_EQ(result.exit_code, kOk) << result.err;
  const Value pool_list = At(OneJson(result), {"pools"});
  std::set<std::string> pools;
  for (const Value& pool : pool_list.list_value().values()) {
    pools.insert(StringAt(pool, {"name"}));
  }
  EXPECT_TRUE(pools.contains("thread")) << result.out;
}

TEST_F(FuturectlTest, SubmitResultStatusRelease) {
  const std::string id = Submit({"echo", "[\"hi\"]"});

  const ProgramResult result = Ctl({"result", id});
  EXPECT_EQ(result.exit_code, kOk) << result.err;
  const Value info = OneJson(result);
  EXPECT_EQ(StringAt(info, {"id"}), id);
  EXPECT_EQ(StringAt(info, {"state"}), "FUTURE_STATE_FINISHED");
  EXPECT_EQ(StringAt(info, {"outcome", "value"}), "hi");

  const ProgramResult status = Ctl({"status", id});
  EXPECT_EQ(status.exit_code, kOk) << status.err;
  EXPECT_EQ(StringAt(OneJson(status), {"outcome", "value"}), "hi");

  const ProgramResult release = Ctl({"release", id});
  EXPECT_EQ(release.exit_code, kOk) << release.err;
  EXPECT_EQ(release.out, "{\"released\":\"1\"}\n");

  const ProgramResult gone = Ctl({"status", id});
  EXPECT_EQ(gone.exit_code, kRpcError);
  EXPECT_EQ(gone.out, "");
  EXPECT_THAT(gone.err, HasSubstr("NOT_FOUND"));
}

TEST_F(FuturectlTest, SubmitWithRequestIdIsSafeToRetry) {
  const std::string id = Submit({"echo", "[1]", "--request_id", "ctl-retry"});
  EXPECT_EQ(Submit({"echo", "[1]", "--request-id", "ctl-retry"}), id);
  EXPECT_NE(Submit({"echo", "[1]"}), id);  // no request ID: a new future

  const ProgramResult other =
      Ctl({"submit", "echo", "[2]", "--request_id", "ctl-retry"});
  EXPECT_EQ(other.exit_code, kRpcError);
  EXPECT_EQ(other.out, "");
  EXPECT_THAT(other.err, HasSubstr("ALREADY_EXISTS"));
  EXPECT_THAT(other.err, HasSubstr(id));
}

TEST_F(FuturectlTest, SubmitWithKeywordArgumentsAndPool) {
  const std::string id =
      Submit({"simulate_download", "[\"http://example.com\"]", "--kwargs",
              "{\"seconds\": 0}", "--pool", "thread"});
  const ProgramResult result = Ctl({"result", id});
  EXPECT_EQ(result.exit_code, kOk) << result.err;
  EXPECT_EQ(StringAt(OneJson(result), {"outcome", "value"}),
            "Content from http://example.com");
}

TEST_F(FuturectlTest, KeywordArgumentsReachTheTask) {
  // Only keyword arguments, each changing the outcome: none may be lost.
  const std::string id = Submit(
      {"fail", "--kwargs", "{\"type\": \"KeyError\", \"message\": \"k\"}"});
  const ProgramResult result = Ctl({"result", id});
  EXPECT_EQ(result.exit_code, kTaskFailed) << result.err;
  const Value info = OneJson(result);
  EXPECT_EQ(StringAt(info, {"outcome", "error", "type"}), "KeyError");
  EXPECT_EQ(StringAt(info, {"outcome", "error", "message"}), "k");
}

TEST_F(FuturectlTest, TaskFailedIsExitTwoWithTheError) {
  const std::string id = Submit({"fail", "[\"ValueError\", \"bad input\"]"});
  const ProgramResult result = Ctl({"result", id});
  EXPECT_EQ(result.exit_code, kTaskFailed) << result.err;
  const Value info = OneJson(result);
  EXPECT_EQ(StringAt(info, {"outcome", "error", "type"}), "ValueError");
  EXPECT_EQ(StringAt(info, {"outcome", "error", "message"}), "bad input");
}

TEST_F(FuturectlTest, TaskTimeoutOnTheDaemonIsATaskFailure) {
  const std::string id = Submit({"sleep", "[3600]", "--task-timeout", "100ms"});
  const ProgramResult result = Ctl({"result", id});
  EXPECT_EQ(result.exit_code, kTaskFailed) << result.err;
  EXPECT_EQ(StringAt(OneJson(result), {"outcome", "error", "type"}),
            "TimeoutError");
}

TEST_F(FuturectlTest, SubmitWithARetryPolicyShowsTheAttempts) {
  const std::string id =
      Submit({"fail", "[\"ValueError\", \"again\"]", "--retry-on",
              "KeyError,ValueError", "--max_attempts", "3", "--backoff", "10ms",
              "--max-backoff", "20ms", "--jitter", "0"});
  const ProgramResult result = Ctl({"result", id});
  EXPECT_EQ(result.exit_code, kTaskFailed) << result.err;
  const Value info = OneJson(result);
  EXPECT_EQ(StringAt(info, {"outcome", "error", "type"}), "ValueError");
  EXPECT_EQ(At(info, {"attempt"}).number_value(), 3);
  EXPECT_EQ(At(info, {"maxAttempts"}).number_value(), 3);
  const Value earlier = At(info, {"earlierAttempts"});
  ASSERT_EQ(earlier.list_value().values_size(), 2) << result.out;
  EXPECT_EQ(StringAt(earlier.list_value().values(1), {"error", "type"}),
            "ValueError");
  EXPECT_EQ(At(earlier.list_value().values(1), {"attempt"}).number_value(), 2);

  // Out of the daemon's bounds: refused, naming the field; not a duration:
  // a usage error.
  const ProgramResult refused = Ctl(
      {"submit", "fail", "--retry-on", "ValueError", "--max-attempts", "1000"});
  EXPECT_EQ(refused.exit_code, kRpcError);
  EXPECT_THAT(refused.err, HasSubstr("retry_policy.max_attempts"));
  EXPECT_EQ(
      Ctl({"submit", "fail", "--retry-on", "ValueError", "--backoff", "soon"})
          .exit_code,
      kUsage);
}

TEST_F(FuturectlTest, ResultTimesOutThenCancelThenCancelled) {
  const std::string id = Submit({"sleep", "[3600]"});

  const ProgramResult timed_out = Ctl({"result", id, "--timeout", "100ms"});
  EXPECT_EQ(timed_out.exit_code, kTimedOut) << timed_out.err;
  EXPECT_EQ(timed_out.out, "");
  // The future goes on.
  EXPECT_FALSE(client_->future(id).done());

  const ProgramResult cancel = Ctl({"cancel", id});
  EXPECT_EQ(cancel.exit_code, kOk) << cancel.err;
  const Value cancelled = OneJson(cancel);
  EXPECT_TRUE(At(cancelled, {"cancelled"}).bool_value()) << cancel.out;
  EXPECT_EQ(StringAt(cancelled, {"future", "state"}), "FUTURE_STATE_CANCELLED");

  const ProgramResult result = Ctl({"result", id});
  EXPECT_EQ(result.exit_code, kCancelled) << result.err;
  EXPECT_TRUE(At(OneJson(result), {"outcome", "cancelled"}).bool_value());

  // Too late to cancel a finished future: said, not an error.
  const std::string done = Submit({"echo", "[1]"});
  ASSERT_EQ(Ctl({"result", done}).exit_code, kOk);
  const ProgramResult late = Ctl({"cancel", done});
  EXPECT_EQ(late.exit_code, kOk) << late.err;
  EXPECT_FALSE(At(OneJson(late), {"cancelled"}).bool_value()) << late.out;
}

TEST_F(FuturectlTest, WaitReturnWhenAndTimeout) {
  const std::string done = Submit({"echo", "[1]"});
  const std::string failed = Submit({"fail", "[]"});
  const std::string running = Submit({"sleep", "[3600]"});

  const ProgramResult first =
      Ctl({"wait", done, running, "--return-when", "FIRST_COMPLETED"});
  EXPECT_EQ(first.exit_code, kOk) << first.err;
  Value sets = OneJson(first);
  EXPECT_THAT(Strings(At(sets, {"done"})), ElementsAre(done));
  EXPECT_THAT(Strings(At(sets, {"notDone"})), ElementsAre(running));
  EXPECT_FALSE(At(sets, {"timedOut"}).bool_value());

  const ProgramResult all = Ctl({"wait", done, running, "--timeout", "100ms"});
  EXPECT_EQ(all.exit_code, kTimedOut) << all.err;
  sets = OneJson(all);
  EXPECT_THAT(Strings(At(sets, {"notDone"})), ElementsAre(running));
  EXPECT_TRUE(At(sets, {"timedOut"}).bool_value());

  // FIRST_EXCEPTION: no error among them is a timeout, one returns at once.
  EXPECT_EQ(Ctl({"wait", done, running, "--return-when", "first_exception",
                 "--timeout", "100ms"})
                .exit_code,
            kTimedOut);
  const ProgramResult exception =
      Ctl({"wait", done, failed, running, "--return-when", "FIRST_EXCEPTION"});
  EXPECT_EQ(exception.exit_code, kOk) << exception.err;
  EXPECT_THAT(Strings(At(OneJson(exception), {"done"})),
              ElementsAre(done, failed));

  EXPECT_EQ(Ctl({"cancel", running}).exit_code, kOk);
}

TEST_F(FuturectlTest, AsCompletedPrintsEachFutureOnce) {
  const std::string a = Submit({"echo", "[\"a\"]"});
  const std::string b = Submit({"echo", "[\"b\"]"});
  const ProgramResult result = Ctl({"as-completed", a, b, a});
  EXPECT_EQ(result.exit_code, kOk) << result.err;
  std::vector<std::string> ids;
  for (const Value& info : JsonLines(result)) {
    EXPECT_EQ(StringAt(info, {"state"}), "FUTURE_STATE_FINISHED");
    ids.push_back(StringAt(info, {"id"}));
  }
  EXPECT_THAT(ids, UnorderedElementsAre(a, b));

  // At the timeout: those that completed, then exit 3.
  const std::string running = Submit({"sleep", "[3600]"});
  const ProgramResult partial =
      Ctl({"as-completed", a, running, "--timeout", "100ms"});
  EXPECT_EQ(partial.exit_code, kTimedOut) << partial.err;
  EXPECT_EQ(StringAt(OneJson(partial), {"id"}), a);
  EXPECT_EQ(Ctl({"cancel", running}).exit_code, kOk);
}

TEST_F(FuturectlTest, MapPrintsOutcomesInInputOrderWithoutProgressWhenPiped) {
  const ProgramResult result = Ctl({"map", "square", "[1, 2, 3]"});
  EXPECT_EQ(result.exit_code, kOk) << result.err;
  EXPECT_THAT(Lines(result.out),
              ElementsAre("{\"index\":\"0\",\"outcome\":{\"value\":1}}",
                          "{\"index\":\"1\",\"outcome\":{\"value\":4}}",
                          "{\"index\":\"2\",\"outcome\":{\"value\":9}}"));
  // stderr is a pipe here: no progress bar.
  EXPECT_EQ(result.err, "");
}

TEST_F(FuturectlTest, MapReadsInputsFromStdin) {
  const ProgramResult result =
      Ctl({"map", "echo", "-"}, {.stdin_text = "\"x\"\n\n[1, 2]\n"});
  EXPECT_EQ(result.exit_code, kOk) << result.err;
  EXPECT_THAT(Lines(result.out),
              ElementsAre("{\"index\":\"0\",\"outcome\":{\"value\":\"x\"}}",
                          "{\"index\":\"1\",\"outcome\":{\"value\":[1,2]}}"));
}

TEST_F(FuturectlTest, MapSpreadsListInputs) {
  const ProgramResult result =
      Ctl({"map", "fail", "[[\"KeyError\", \"k\"]]", "--spread"});
  EXPECT_EQ(result.exit_code, kTaskFailed) << result.err;
  EXPECT_THAT(Lines(result.out),
              ElementsAre("{\"index\":\"0\",\"outcome\":{\"error\":{\"type\":"
                          "\"KeyError\",\"message\":\"k\"}}}"));
}

TEST_F(FuturectlTest, MapStopsAtTheFirstTaskError) {
  const ProgramResult result = Ctl({"map", "square", "[2, 1e200, 3]"});
  EXPECT_EQ(result.exit_code, kTaskFailed) << result.err;
  const std::vector<Value> items = JsonLines(result);
  ASSERT_THAT(items, SizeIs(2)) << result.out;
  EXPECT_EQ(StringAt(items[0], {"index"}), "0");
  EXPECT_EQ(At(items[0], {"outcome", "value"}).number_value(), 4);
  EXPECT_EQ(StringAt(items[1], {"index"}), "1");
  EXPECT_EQ(StringAt(items[1], {"outcome", "error", "type"}), "OverflowError");
}

TEST_F(FuturectlTest, MapTimeoutAndRefusedArguments) {
  const ProgramResult timed_out =
      Ctl({"map", "sleep", "[3600]", "--timeout", "100ms"});
  EXPECT_EQ(timed_out.exit_code, kTimedOut) << timed_out.err;
  EXPECT_EQ(timed_out.out, "");

  // Arguments that do not fit fail at their own input, as Python's map
  // raises TypeError there; an unknown function is the call's error.
  const ProgramResult refused = Ctl({"map", "square", "[1, \"x\"]"});
  EXPECT_EQ(refused.exit_code, kTaskFailed) << refused.err;
  const std::vector<Value> items = JsonLines(refused);
  ASSERT_THAT(items, SizeIs(2)) << refused.out;
  EXPECT_EQ(At(items[0], {"outcome", "value"}).number_value(), 1);
  EXPECT_EQ(StringAt(items[1], {"outcome", "error", "type"}), "TypeError");
  const ProgramResult unknown = Ctl({"map", "no_such_fn", "[1]"});
  EXPECT_EQ(unknown.exit_code, kRpcError);
  EXPECT_THAT(unknown.err, HasSubstr("NOT_FOUND"));
}

TEST_F(FuturectlTest, ProgressBarOnlyOnATerminal) {
  const ProgramResult map =
      Ctl({"map", "square", "[1, 2, 3]"}, {.stderr_is_terminal = true});
  EXPECT_EQ(map.exit_code, kOk) << map.err;
  EXPECT_THAT(map.err, AllOf(HasSubstr("] 0/3"), HasSubstr("] 3/3")));
  // The bar is on stderr only.
  EXPECT_THAT(Lines(map.out), SizeIs(3));
  EXPECT_THAT(map.out, Not(HasSubstr("/3")));

  const std::string a = Submit({"echo", "[1]"});
  const std::string b = Submit({"echo", "[2]"});
  const ProgramResult wait = Ctl({"wait", a, b}, {.stderr_is_terminal = true});
  EXPECT_EQ(wait.exit_code, kOk) << wait.err;
  EXPECT_THAT(wait.err, HasSubstr("] 2/2"));
  EXPECT_THAT(Strings(At(OneJson(wait), {"done"})), ElementsAre(a, b));

  const ProgramResult piped = Ctl({"wait", a, b});
  EXPECT_EQ(piped.exit_code, kOk) << piped.err;
  EXPECT_EQ(piped.err, "");
}

TEST_F(FuturectlTest, ReleaseOfARunningFutureIsRefused) {
  const std::string running = Submit({"sleep", "[3600]"});
  const ProgramResult result = Ctl({"release", running});
  EXPECT_EQ(result.exit_code, kRpcError);
  EXPECT_THAT(result.err, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_EQ(Ctl({"cancel", running}).exit_code, kOk);
}

TEST_F(FuturectlTest, UnknownFunctionPoolOrFutureIsExitSix) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"submit", "no_such_function"},
        std::vector<std::string>{"submit", "echo", "[1]", "--pool", "nope"},
        std::vector<std::string>{"status",
                                 "00000000-0000-4000-8000-000000000000"},
        std::vector<std::string>{"result",
                                 "00000000-0000-4000-8000-000000000000"}}) {
    const ProgramResult result = Ctl(args);
    EXPECT_EQ(result.exit_code, kRpcError) << absl::StrJoin(args, " ");
    EXPECT_THAT(result.err, HasSubstr("NOT_FOUND")) << absl::StrJoin(args, " ");
    EXPECT_EQ(result.out, "");
  }
}

TEST_F(FuturectlTest, UnreachableDaemonIsExitFive) {
  const std::string unused = UnusedTarget();
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"health"},
        std::vector<std::string>{"submit", "echo", "[1]"},
        std::vector<std::string>{"status",
                                 "00000000-0000-4000-8000-000000000000"},
        std::vector<std::string>{"map", "square", "[1]"},
        std::vector<std::string>{"functions"}}) {
    std::vector<std::string> full = {FUTURECTL_BINARY, "--target", unused};
    full.insert(full.end(), args.begin(), args.end());
    const ProgramResult result = RunAny(full);
    EXPECT_EQ(result.exit_code, kUnreachable) << absl::StrJoin(args, " ");
    EXPECT_THAT(result.err, HasSubstr("UNAVAILABLE"));
    EXPECT_EQ(result.out, "");
  }
}

TEST_F(FuturectlTest, TargetFromTheEnvironment) {
  const ProgramResult result =
      RunAny({"health"},
             {.env = {absl::StrCat("FUTURED_TARGET=", daemon_->address())}});
  EXPECT_EQ(result.exit_code, kOk) << result.err;
  EXPECT_EQ(result.out, "{\"status\":\"SERVING\"}\n");
}

TEST_F(FuturectlTest, UsageErrorsAreExitOne) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{}, std::vector<std::string>{"no-such-command"},
        std::vector<std::string>{"submit"},
        std::vector<std::string>{"submit", "echo", "not json"},
        std::vector<std::string>{"submit", "echo", "{\"not\": \"a list\"}"},
        std::vector<std::string>{"submit", "echo", "[1]", "--kwargs", "[1]"},
        std::vector<std::string>{"result", "x", "--timeout", "soon"},
        std::vector<std::string>{"wait", "x", "--return-when", "SOMETIMES"},
        std::vector<std::string>{"map", "square", "{}"}}) {
    const ProgramResult result = Ctl(args);
    EXPECT_EQ(result.exit_code, kUsage) << absl::StrJoin(args, " ");
    EXPECT_EQ(result.out, "") << absl::StrJoin(args, " ");
    EXPECT_THAT(result.err, Not(IsEmpty())) << absl::StrJoin(args, " ");
  }
  const ProgramResult help = RunAny({"--help"});
  EXPECT_EQ(help.exit_code, kOk);
  EXPECT_THAT(help.out,
              AllOf(HasSubstr("as-completed"), HasSubstr("Exit codes")));
}

}  // namespace
}  // namespace futured::testing
