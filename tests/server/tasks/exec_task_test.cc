#include "server/tasks/exec_task.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/poll_until.h"
#include "tests/server/task_spec_call.h"
#include "tests/server/value_builders.h"

namespace futured::server {
namespace {

using ::futured::testing::PollUntil;

using ::futured::testing::Bool;
using ::futured::testing::Describe;
using ::futured::testing::Field;
using ::futured::testing::Kwargs;
using ::futured::testing::List;
using ::futured::testing::Num;
using ::futured::testing::Object;
using ::futured::testing::Prepare;
using ::futured::testing::RunTask;
using ::futured::testing::Str;
using ::google::protobuf::Value;
using ::testing::HasSubstr;

// Whether process `pid` has ended: gone, or a zombie that is not ours to
// reap (an orphan's zombie belongs to init).
bool ProcessEnded(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(stat, line);
  // "pid (comm) S ppid ...": the state follows the last ')'.
  const size_t paren = line.rfind(')');
  return paren == std::string::npos ||
         (paren + 2 < line.size() && line[paren + 2] == 'Z');
}

Value Argv(std::initializer_list<std::string> items) {
  Value v;
  for (const std::string& item : items) {
    v.mutable_list_value()->add_values()->set_string_value(item);
  }
  return v;
}

class ExecTaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // As in futured and futured-worker: a closed stdin pipe is EPIPE.
    signal(SIGPIPE, SIG_IGN);
    absl::StatusOr<ExecAllowList> allow = ExecAllowList::Create(
        {"/bin/sh", "/bin/echo", "/bin/cat", "/usr/bin/env", "/bin/pwd"});
    ASSERT_TRUE(allow.ok()) << allow.status();
    spec_ = ExecTaskSpec({.allow = *allow, .kill_grace = absl::Seconds(1)});
    char dir[] = "/tmp/futured-exec-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    // If the runner failed to, end the commands this test started (a shell
    // leads its command's process group).
    if (const pid_t shell = PidIn("shell"); shell > 0 && !ProcessEnded(shell)) {
      kill(-shell, SIGKILL);
    }
    if (const pid_t child = PidIn("child"); child > 0 && !ProcessEnded(child)) {
      kill(child, SIGKILL);
    }
    std::system(absl::StrCat("rm -rf '", dir_, "'").c_str());
    // Every child was reaped: this process has none left.
    EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);
    EXPECT_EQ(errno, ECHILD);
  }

  Outcome Exec(const google::protobuf::Struct& kwargs) {
    return RunTask(spec_, kwargs, token_);
  }

  // A shell command; stdout/stderr/exit code are checked by the caller.
  Outcome Shell(const std::string& script) {
    return Exec(Kwargs({{"argv", Argv({"/bin/sh", "-c", script})}}));
  }

  // The pid in file `name` of dir_, or 0 until it is written.
  pid_t PidIn(const std::string& name) {
    std::ifstream file(absl::StrCat(dir_, "/", name));
    pid_t pid = 0;
    file >> pid;
    return pid;
  }

  TaskSpec spec_;
  CancellationToken token_;
  std::string dir_;
};

TEST_F(ExecTaskTest, RunsAProgramAndCapturesItsOutput) {
  Outcome outcome =
      Exec(Kwargs({{"argv", Argv({"/bin/echo", "hi", "there"})}}));
  EXPECT_EQ(Field(outcome, "exit_code").number_value(), 0) << Describe(outcome);
  EXPECT_EQ(Field(outcome, "signal").kind_case(), Value::kNullValue);
  EXPECT_EQ(Field(outcome, "stdout").string_value(), "hi there\n");
  EXPECT_EQ(Field(outcome, "stderr").string_value(), "");
  EXPECT_FALSE(Field(outcome, "stdout_truncated").bool_value());
}

TEST_F(ExecTaskTest, NonZeroExitIsAResult) {
  Outcome outcome = Shell("echo oops >&2; exit 3");
  EXPECT_EQ(Field(outcome, "exit_code").number_value(), 3) << Describe(outcome);
  EXPECT_EQ(Field(outcome, "stderr").string_value(), "oops\n");
}

TEST_F(ExecTaskTest, DeathBySignalIsNamed) {
  Outcome outcome = Shell("kill -KILL $$");
  EXPECT_EQ(Field(outcome, "exit_code").kind_case(), Value::kNullValue)
      << Describe(outcome);
  EXPECT_EQ(Field(outcome, "signal").string_value(), "SIGKILL");
}

TEST_F(ExecTaskTest, StdinEnvAndCwdAreTheCallers) {
  Outcome cat =
      Exec(Kwargs({{"argv", Argv({"/bin/cat"})}, {"stdin", Str("piped in")}}));
  EXPECT_EQ(Field(cat, "stdout").string_value(), "piped in") << Describe(cat);
  // Exactly the given environment: nothing of the daemon's.
  Outcome env =
      Exec(Kwargs({{"argv", Argv({"/usr/bin/env"})},
                   {"env", Object({{"B", Str("2")}, {"A", Str("1")}})}}));
  EXPECT_EQ(Field(env, "stdout").string_value(), "A=1\nB=2\n") << Describe(env);
  Outcome empty = Exec(Kwargs({{"argv", Argv({"/usr/bin/env"})}}));
  EXPECT_EQ(Field(empty, "stdout").string_value(), "") << Describe(empty);
  Outcome pwd =
      Exec(Kwargs({{"argv", Argv({"/bin/pwd"})}, {"cwd", Str(dir_)}}));
  EXPECT_EQ(Field(pwd, "stdout").string_value(), dir_ + "\n") << Describe(pwd);
}

TEST_F(ExecTaskTest, MissingCwdIsFileNotFoundError) {
  const std::string missing = dir_ + "/nowhere";
  Outcome outcome =
      Exec(Kwargs({{"argv", Argv({"/bin/pwd"})}, {"cwd", Str(missing)}}));
  const auto* error = std::get_if<TaskError>(&outcome);
  ASSERT_NE(error, nullptr) << Describe(outcome);
  EXPECT_EQ(error->type, "FileNotFoundError");
  EXPECT_THAT(error->message, HasSubstr(missing));
}

TEST_F(ExecTaskTest, LargeOutputOnBothStreamsAndLargeInputDoNotDeadlock) {
  // 3 MiB in, 3 MiB back on stdout while 3 MiB go to stderr: far beyond
  // any pipe buffer in every direction at once.
  const std::string input(3 << 20, 'i');
  Outcome outcome = Exec(Kwargs(
      {{"argv",
        Argv({"/bin/sh", "-c", "head -c 3145728 /dev/zero >&2 & cat; wait"})},
       {"stdin", Str(input)},
       {"max_output_bytes", Num(4 << 20)}}));
  EXPECT_EQ(Field(outcome, "exit_code").number_value(), 0) << Describe(outcome);
  EXPECT_EQ(Field(outcome, "stdout").string_value().size(), input.size());
  EXPECT_EQ(Field(outcome, "stderr").string_value().size(), 3u << 20);
}

TEST_F(ExecTaskTest, ProgramThatIgnoresItsStdinStillEnds) {
  Outcome outcome = Exec(Kwargs({{"argv", Argv({"/bin/sh", "-c", "exit 7"})},
                                 {"stdin", Str(std::string(4 << 20, 'x'))}}));
  EXPECT_EQ(Field(outcome, "exit_code").number_value(), 7) << Describe(outcome);
}

TEST_F(ExecTaskTest, OutputOverTheLimitIsTruncatedAndDrained) {
  Outcome outcome =
      Exec(Kwargs({{"argv", Argv({"/bin/sh", "-c",
                                  "head -c 1000000 /dev/zero; echo done >&2"})},
                   {"max_output_bytes", Num(1000)}}));
  EXPECT_EQ(Field(outcome, "exit_code").number_value(), 0) << Describe(outcome);
  EXPECT_EQ(Field(outcome, "stdout").string_value().size(), 1000u);
  EXPECT_TRUE(Field(outcome, "stdout_truncated").bool_value());
  EXPECT_FALSE(Field(outcome, "stderr_truncated").bool_value());
  EXPECT_EQ(Field(outcome, "stderr").string_value(), "done\n");
}

TEST_F(ExecTaskTest, BinaryOutputIsReplacedAsTextOrBase64) {
  const std::string script = "printf 'a\\377b'";
  Outcome text = Shell(script);
  EXPECT_EQ(Field(text, "stdout").string_value(),
            "a\xEF\xBF\xBD"
            "b")
      << Describe(text);
  Outcome raw = Exec(Kwargs(
      {{"argv", Argv({"/bin/sh", "-c", script})}, {"text", Bool(false)}}));
  EXPECT_EQ(Field(raw, "stdout").string_value(), absl::Base64Escape("a\377b"));
}

TEST_F(ExecTaskTest, UnlistedProgramIsPermissionDenied) {
  for (const std::string program :
       {"/bin/ls", "ls", "/bin/../bin/true", "/no/such/program"}) {
    absl::StatusOr<BoundArgs> bound =
        Prepare(spec_, Kwargs({{"argv", Argv({program})}}));
    ASSERT_FALSE(bound.ok()) << program;
    EXPECT_EQ(bound.status().code(), absl::StatusCode::kPermissionDenied)
        << program << ": " << bound.status();
  }
  // A link to a listed program is the program.
  const std::string link = dir_ + "/echo-link";
  ASSERT_EQ(symlink("/bin/echo", link.c_str()), 0);
  EXPECT_TRUE(Prepare(spec_, Kwargs({{"argv", Argv({link, "x"})}})).ok());
}

TEST_F(ExecTaskTest, DisabledByDefault) {
  const TaskSpec disabled = ExecTaskSpec({});
  absl::StatusOr<BoundArgs> bound =
      Prepare(disabled, Kwargs({{"argv", Argv({"/bin/echo"})}}));
  ASSERT_FALSE(bound.ok());
  EXPECT_EQ(bound.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(bound.status().message(), HasSubstr("--exec_allow"));
  // Where it runs, the check is made again.
  CancellationToken token;
  const TaskContext ctx(token, absl::InfiniteFuture());
  BoundArgs args = *Prepare(spec_, Kwargs({{"argv", Argv({"/bin/echo"})}}));
  Outcome outcome = disabled.function(ctx, args);
  ASSERT_TRUE(IsError(outcome)) << Describe(outcome);
  EXPECT_EQ(std::get<TaskError>(outcome).type, "PermissionError");
}

TEST_F(ExecTaskTest, MalformedArgumentsAreInvalidArgument) {
  for (const auto& kwargs : {
           Kwargs({{"argv", List({})}}),
           Kwargs({{"argv", List({Num(1)})}}),
           Kwargs({{"argv", Argv({"/bin/echo"})}, {"cwd", Str("relative")}}),
           Kwargs({{"argv", Argv({"/bin/echo"})},
                   {"env", Object({{"A", Num(1)}})}}),
           Kwargs({{"argv", Argv({"/bin/echo"})},
                   {"env", Object({{"A=B", Str("")}})}}),
           Kwargs({{"argv", Argv({"/bin/echo"})}, {"timeout", Num(-1)}}),
           Kwargs({{"argv", Argv({"/bin/echo"})}, {"timeout", Str("1")}}),
       }) {
    absl::StatusOr<BoundArgs> bound = Prepare(spec_, kwargs);
    ASSERT_FALSE(bound.ok()) << kwargs.ShortDebugString();
    EXPECT_EQ(bound.status().code(), absl::StatusCode::kInvalidArgument)
        << kwargs.ShortDebugString() << ": " << bound.status();
  }
}

TEST_F(ExecTaskTest, AllowListEntriesMustBeAbsoluteExecutables) {
  EXPECT_FALSE(ExecAllowList::Create({"sh"}).ok());
  EXPECT_FALSE(ExecAllowList::Create({"/no/such/program"}).ok());
  const std::string data = dir_ + "/data";
  std::ofstream(data) << "not a program";
  chmod(data.c_str(), 0644);
  EXPECT_FALSE(ExecAllowList::Create({data}).ok());
  EXPECT_FALSE(ExecAllowList::Create({dir_}).ok());
}

TEST_F(ExecTaskTest, TimeoutKillsTheGroupAndKeepsTheOutput) {
  Outcome outcome = Exec(Kwargs(
      {{"argv", Argv({"/bin/sh", "-c",
                      absl::StrCat("echo started; sleep 1000 & echo $! > ",
                                   dir_, "/child; wait")})},
       {"timeout", Num(0.5)}}));
  const auto* error = std::get_if<TaskError>(&outcome);
  ASSERT_NE(error, nullptr) << Describe(outcome);
  EXPECT_EQ(error->type, "TimeoutError");
  EXPECT_THAT(error->message, HasSubstr("timed out after 0.5 seconds"));
  EXPECT_EQ(Field(error->details, "stdout").string_value(), "started\n");
  const pid_t child = PidIn("child");
  ASSERT_GT(child, 0);
  EXPECT_TRUE(PollUntil([&] { return ProcessEnded(child); }));
}

TEST_F(ExecTaskTest, CancelKillsTheWholeProcessGroup) {
  Outcome outcome;
  std::thread run([&] {
    outcome = Shell(absl::StrCat("echo $$ > ", dir_, "/shell; sleep 1000 & ",
                                 "echo $! > ", dir_, "/child; wait"));
  });
  // Bounded: the shell writes both files at once.
  ASSERT_TRUE(
      PollUntil([&] { return PidIn("shell") > 0 && PidIn("child") > 0; }));
  const pid_t shell = PidIn("shell");
  const pid_t child = PidIn("child");
  token_.Cancel();
  run.join();
  EXPECT_TRUE(IsCancelled(outcome)) << Describe(outcome);
  EXPECT_TRUE(PollUntil([&] { return ProcessEnded(shell); }));
  EXPECT_TRUE(PollUntil([&] { return ProcessEnded(child); }));
}

TEST_F(ExecTaskTest, ProgramIgnoringSigtermGetsSigkillAfterTheGrace) {
  Outcome outcome;
  std::thread run([&] {
    outcome = Shell(absl::StrCat("trap '' TERM; echo $$ > ", dir_,
                                 "/shell; while :; do sleep 1; done"));
  });
  ASSERT_TRUE(PollUntil([&] { return PidIn("shell") > 0; }));
  const pid_t shell = PidIn("shell");
  token_.Cancel();
  run.join();
  EXPECT_TRUE(IsCancelled(outcome)) << Describe(outcome);
  EXPECT_TRUE(PollUntil([&] { return ProcessEnded(shell); }));
}

TEST_F(ExecTaskTest, BackgroundChildrenDoNotOutliveTheProgram) {
  Outcome outcome =
      Shell(absl::StrCat("sleep 1000 & echo $! > ", dir_, "/child"));
  EXPECT_EQ(Field(outcome, "exit_code").number_value(), 0) << Describe(outcome);
  const pid_t child = PidIn("child");
  ASSERT_GT(child, 0);
  EXPECT_TRUE(PollUntil([&] { return ProcessEnded(child); }));
}

TEST_F(ExecTaskTest, TheGroupObserverHearsTheGroupUntilItIsKilled) {
  absl::StatusOr<ExecAllowList> allow = ExecAllowList::Create({"/bin/sh"});
  ASSERT_TRUE(allow.ok()) << allow.status();
  std::vector<pid_t> heard;
  spec_ = ExecTaskSpec({.allow = *allow, .group_observer = [&](pid_t g) {
                          heard.push_back(g);
                        }});
  // The shell leads its group, and is not yet reaped when it is cleared.
  const Outcome outcome = Shell("echo $$");
  pid_t shell = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripTrailingAsciiWhitespace(
                                   Field(outcome, "stdout").string_value()),
                               &shell))
      << Describe(outcome);
  EXPECT_THAT(heard, ::testing::ElementsAre(shell, 0));
}

}  // namespace
}  // namespace futured::server
