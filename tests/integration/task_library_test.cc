// The task library (http.get, exec, hash.sha256) through the real daemon, in
// its thread pool and in its process pool: exec's allow-list at Submit,
// cancel and deadline killing a command's whole process group, http.get
// against a local server, and digests that match sha256sum's.
#include <dirent.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/integration/daemon_test.h"
#include "tests/poll_until.h"

namespace futured::testing {
namespace {

using ::futured::v1::FutureInfo;
using ::futured::v1::FutureState;
using ::futured::v1::SubmitRequest;
using ::google::protobuf::Value;
using ::testing::HasSubstr;

// Gone, or a zombie that is no longer ours to reap (an orphan's zombie
// belongs to init).
bool ProcessGone(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(file, line)) return true;
  const size_t close = line.rfind(')');
  return close == std::string::npos ||
         (close + 2 < line.size() && line[close + 2] == 'Z');
}

// Zombie children of `parent`: processes it has not reaped.
std::vector<pid_t> ZombieChildren(pid_t parent) {
  std::vector<pid_t> zombies;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return zombies;
  while (dirent* entry = readdir(proc)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
    std::string line;
    if (!std::getline(file, line)) continue;
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    char state = '?';
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && state == 'Z') zombies.push_back(pid);
  }
  closedir(proc);
  return zombies;
}

Value Str(const std::string& s) { return StringValue(s); }

Value Strings(const std::vector<std::string>& items) {
  Value v;
  for (const std::string& item : items) {
    v.mutable_list_value()->add_values()->set_string_value(item);
  }
  return v;
}

const Value& FieldOf(const FutureInfo& info, const std::string& key) {
  static const Value kMissing;
  const auto& fields = info.outcome().value().struct_value().fields();
  const auto it = fields.find(key);
  return it == fields.end() ? kMissing : it->second;
}

// One daemon per test, with /bin/sh, /bin/echo and /bin/cat allowed for exec
// unless a test starts its own; the pool is the test's parameter.
class TaskLibraryTest : public DaemonTest,
                        public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    // The daemon inherits this; libcurl honours proxy variables, and
    // loopback must not go through one.
    setenv("no_proxy", "127.0.0.1", 1);
    char dir[] = "/tmp/futured-tasklib-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    DaemonTest::TearDown();
    // If the daemon failed to, end the commands this test started (their
    // shell leads their process group).
    if (const pid_t shell = PidIn("shell"); shell > 0 && !ProcessGone(shell)) {
      kill(-shell, SIGKILL);
    }
    if (const pid_t child = PidIn("child"); child > 0 && !ProcessGone(child)) {
      kill(child, SIGKILL);
    }
    std::system(absl::StrCat("rm -rf '", dir_, "'").c_str());
  }

  void StartWithExec() {
    ASSERT_NO_FATAL_FAILURE(StartDaemon(
        false, {"--exec_allow=/bin/sh,/bin/echo,/bin/cat", "--processes=2"}));
  }

  SubmitRequest Call(const std::string& function,
                     std::vector<std::pair<std::string, Value>> kwargs) {
    SubmitRequest request = CallOf(function);
    request.set_pool(GetParam());
    for (auto& [name, value] : kwargs) {
      (*request.mutable_kwargs()->mutable_fields())[name] = std::move(value);
    }
    return request;
  }

  grpc::Status SubmitStatus(const SubmitRequest& request) {
    std::string id;
    return calls_->Submit(request, &id);
  }

  // The pid in file `name` of dir_, or 0 until it is written.
  pid_t PidIn(const std::string& name) const {
    std::ifstream file(absl::StrCat(dir_, "/", name));
    pid_t pid = 0;
    file >> pid;
    return pid;
  }

  // A shell that records its pid and its child's, then waits on the child.
  std::vector<std::string> ShellWithGrandchild() const {
    return {"/bin/sh", "-c",
            absl::StrCat("echo $$ > ", dir_, "/shell.tmp; mv ", dir_,
                         "/shell.tmp ", dir_, "/shell; sleep 1000 & echo $! > ",
                         dir_, "/child.tmp; mv ", dir_, "/child.tmp ", dir_,
                         "/child; wait")};
  }

  // Waits for both pid files of ShellWithGrandchild(); false if they never
  // appear.
  bool AwaitPids(pid_t* shell, pid_t* child) const {
    const bool written =
        PollUntil([&] { return PidIn("shell") > 0 && PidIn("child") > 0; });
    *shell = PidIn("shell");
    *child = PidIn("child");
    return written;
  }

  std::string dir_;
};

TEST_P(TaskLibraryTest, ExecIsDisabledByDefault) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(false));
  grpc::Status status =
      SubmitStatus(Call("exec", {{"argv", Strings({"/bin/echo", "hi"})}}));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
      << StatusText(status);
  EXPECT_THAT(status.error_message(), HasSubstr("--exec_allow"));
}

TEST_P(TaskLibraryTest, ExecRunsOnlyListedPrograms) {
  ASSERT_NO_FATAL_FAILURE(StartWithExec());
  for (const std::string program : {"/bin/ls", "/usr/bin/env", "echo"}) {
    grpc::Status status =
        SubmitStatus(Call("exec", {{"argv", Strings({program})}}));
    EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << program << ": " << StatusText(status);
  }
  grpc::Status malformed = SubmitStatus(Call("exec", {{"argv", Strings({})}}));
  EXPECT_EQ(malformed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  const FutureInfo info = MustResult(MustSubmit(
      Call("exec", {{"argv", Strings({"/bin/echo", "hello", GetParam()})}})));
  ASSERT_TRUE(info.outcome().has_value()) << info.ShortDebugString();
  EXPECT_EQ(FieldOf(info, "exit_code").number_value(), 0);
  EXPECT_EQ(FieldOf(info, "stdout").string_value(),
            absl::StrCat("hello ", GetParam(), "\n"));
}

TEST_P(TaskLibraryTest, ExecCancelKillsTheCommandsProcessGroup) {
  ASSERT_NO_FATAL_FAILURE(StartWithExec());
  const std::string id =
      MustSubmit(Call("exec", {{"argv", Strings(ShellWithGrandchild())}}));
  pid_t shell = 0, child = 0;
  ASSERT_TRUE(AwaitPids(&shell, &child));
  MustAwaitState(id, FutureState::FUTURE_STATE_RUNNING);
  MustCancel(id);
  const FutureInfo info = MustResult(id);
  EXPECT_EQ(info.state(), FutureState::FUTURE_STATE_CANCELLED)
      << info.ShortDebugString();
  EXPECT_TRUE(PollUntil([&] { return ProcessGone(shell); })) << shell;
  EXPECT_TRUE(PollUntil([&] { return ProcessGone(child); })) << child;
  // Reaped: the daemon (the shell's parent in a thread pool) holds no zombie.
  EXPECT_TRUE(
      PollUntil([&] { return ZombieChildren(daemon_->pid()).empty(); }));
  // The pool goes on (a process pool has replaced the worker).
  const FutureInfo after = MustResult(
      MustSubmit(Call("exec", {{"argv", Strings({"/bin/echo", "again"})}})));
  EXPECT_EQ(FieldOf(after, "stdout").string_value(), "again\n")
      << after.ShortDebugString();
}

TEST_P(TaskLibraryTest, ExecCancelKillsACommandThatIgnoresSigterm) {
  ASSERT_NO_FATAL_FAILURE(StartWithExec());
  const std::string id = MustSubmit(
      Call("exec",
           {{"argv",
             Strings({"/bin/sh", "-c",
                      absl::StrCat("trap '' TERM; echo $$ > ", dir_,
                                   "/shell.tmp; mv ", dir_, "/shell.tmp ", dir_,
                                   "/shell; while :; do sleep 1; done")})}}));
  ASSERT_TRUE(PollUntil([&] { return PidIn("shell") > 0; }));
  const pid_t shell = PidIn("shell");
  MustCancel(id);
  EXPECT_EQ(MustResult(id).state(), FutureState::FUTURE_STATE_CANCELLED);
  // SIGKILL after the grace.
  EXPECT_TRUE(PollUntil([&] { return ProcessGone(shell); })) << shell;
}

TEST_P(TaskLibraryTest, ExecSubmitDeadlineKillsTheCommandsProcessGroup) {
  ASSERT_NO_FATAL_FAILURE(StartWithExec());
  SubmitRequest request =
      Call("exec", {{"argv", Strings(ShellWithGrandchild())}});
  // Long enough for the shell to start and write its files on a loaded
  // machine; the test checks what happens after, not when.
  *request.mutable_timeout() = DurationProto(absl::Seconds(5));
  const std::string id = MustSubmit(request);
  pid_t shell = 0, child = 0;
  ASSERT_TRUE(AwaitPids(&shell, &child));
  const FutureInfo info = MustResult(id);
  EXPECT_EQ(info.outcome().error().type(), "TimeoutError")
      << info.ShortDebugString();
  EXPECT_TRUE(PollUntil([&] { return ProcessGone(shell); })) << shell;
  EXPECT_TRUE(PollUntil([&] { return ProcessGone(child); })) << child;
}

TEST_P(TaskLibraryTest, ExecProgramGetsNoDescriptorsBlockedOrIgnoredSignals) {
  ASSERT_NO_FATAL_FAILURE(StartWithExec());
  // The daemon blocks SIGTERM and ignores SIGPIPE, and holds sockets,
  // pipes and files; the program must see none of that. (Read by the
  // program itself: a shell blocks signals around each fork.)
  const FutureInfo status = MustResult(MustSubmit(
      Call("exec", {{"argv", Strings({"/bin/cat", "/proc/self/status"})}})));
  const std::string text = FieldOf(status, "stdout").string_value();
  EXPECT_THAT(text, HasSubstr("SigBlk:\t0000000000000000\n"));
  // glibc reserves signals 32 and 33 and posix_spawn leaves them be; none
  // of the 31 standard signals may be ignored.
  const size_t ignored = text.find("SigIgn:\t");
  ASSERT_NE(ignored, std::string::npos) << text;
  uint64_t mask = 0;
  ASSERT_TRUE(absl::SimpleHexAtoi(text.substr(ignored + 8, 16), &mask)) << text;
  EXPECT_EQ(mask & 0x7fffffffu, 0u) << text;

  const FutureInfo fds = MustResult(MustSubmit(Call(
      "exec",
      {{"argv", Strings({"/bin/sh", "-c", "exec /bin/ls /proc/self/fd"})}})));
  // ls's own descriptors: stdio, and the directory it is reading.
  EXPECT_EQ(FieldOf(fds, "stdout").string_value(), "0\n1\n2\n3\n")
      << fds.ShortDebugString();
}

TEST_P(TaskLibraryTest, ExecOwnTimeoutKillsTheGroupAndKeepsOutput) {
  ASSERT_NO_FATAL_FAILURE(StartWithExec());
  Value timeout;
  timeout.set_number_value(0.5);
  const FutureInfo info = MustResult(MustSubmit(Call(
      "exec",
      {{"argv", Strings({"/bin/sh", "-c", "echo started; exec sleep 1000"})},
       {"timeout", timeout}})));
  EXPECT_EQ(info.outcome().error().type(), "TimeoutError")
      << info.ShortDebugString();
  EXPECT_EQ(info.outcome()
                .error()
                .details()
                .struct_value()
                .fields()
                .at("stdout")
                .string_value(),
            "started\n");
}

TEST_P(TaskLibraryTest, HttpGetFetchesALocalPage) {
  httplib::Server server;
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("<html><title>Local page</title></html>", "text/html");
  });
  server.Get("/gone", [](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { server.listen_after_bind(); });
  ASSERT_NO_FATAL_FAILURE(StartDaemon(false, {"--processes=1"}));
  const std::string base = absl::StrCat("http://127.0.0.1:", port);
  const FutureInfo page =
      MustResult(MustSubmit(Call("http.get", {{"url", Str(base + "/")}})));
  const FutureInfo gone =
      MustResult(MustSubmit(Call("http.get", {{"url", Str(base + "/gone")}})));
  grpc::Status scheme =
      SubmitStatus(Call("http.get", {{"url", Str("file:///etc/passwd")}}));
  server.stop();
  serving.join();
  EXPECT_EQ(FieldOf(page, "status").number_value(), 200)
      << page.ShortDebugString();
  EXPECT_EQ(FieldOf(page, "title").string_value(), "Local page");
  EXPECT_EQ(FieldOf(page, "url").string_value(), base + "/");
  EXPECT_EQ(FieldOf(gone, "status").number_value(), 404)
      << gone.ShortDebugString();
  EXPECT_EQ(scheme.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_P(TaskLibraryTest, Sha256MatchesSha256sum) {
  const std::string path = dir_ + "/file.bin";
  {
    std::ofstream file(path, std::ios::binary);
    for (int i = 0; i < 300000; ++i) file << static_cast<char>(i * 7);
  }
  std::string expected(64, '\0');
  FILE* sum = popen(absl::StrCat("sha256sum '", path, "'").c_str(), "r");
  ASSERT_NE(sum, nullptr);
  ASSERT_EQ(fread(expected.data(), 1, expected.size(), sum), expected.size());
  pclose(sum);

  ASSERT_NO_FATAL_FAILURE(StartDaemon(false, {"--processes=1"}));
  const FutureInfo file =
      MustResult(MustSubmit(Call("hash.sha256", {{"path", Str(path)}})));
  EXPECT_EQ(FieldOf(file, "sha256").string_value(), expected)
      << file.ShortDebugString();
  EXPECT_EQ(FieldOf(file, "bytes").number_value(), 300000);
  const FutureInfo data =
      MustResult(MustSubmit(Call("hash.sha256", {{"data", Str("abc")}})));
  EXPECT_EQ(FieldOf(data, "sha256").string_value(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const FutureInfo missing = MustResult(
      MustSubmit(Call("hash.sha256", {{"path", Str(dir_ + "/missing")}})));
  EXPECT_EQ(missing.outcome().error().type(), "FileNotFoundError");
  grpc::Status both = SubmitStatus(
      Call("hash.sha256", {{"path", Str(path)}, {"data", Str("x")}}));
  EXPECT_EQ(both.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

INSTANTIATE_TEST_SUITE_P(BothPools, TaskLibraryTest,
                         ::testing::Values("thread", "process"),
                         [](const auto& info) { return info.param; });

class TaskListingTest : public DaemonTest {};

TEST_F(TaskListingTest, ListFunctionsShowsTheTaskLibrary) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(false));
  futured::v1::ListFunctionsResponse response;
  ASSERT_TRUE(calls_->ListFunctions(&response).ok());
  std::map<std::string, std::string> signatures;
  for (const auto& function : response.functions()) {
    signatures[function.name()] = function.signature();
  }
  EXPECT_EQ(signatures["http.get"],
            "http.get(url: string, timeout: number = 30, max_bytes: integer = "
            "10485760)");
  EXPECT_EQ(signatures["exec"],
            "exec(argv: list, stdin: string = \"\", env: object = {}, cwd: "
            "string = \"\", timeout: any = null, max_output_bytes: integer = "
            "1048576, text: bool = true)");
  EXPECT_EQ(signatures["hash.sha256"],
            "hash.sha256(path: any = null, data: any = null, data_base64: any "
            "= null)");
}

TEST_F(TaskListingTest, BadExecAllowEntryStopsTheDaemonAtStartUp) {
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start({.flags = {"--exec_allow=bin/sh"}});
  ASSERT_FALSE(daemon.ok());
}

}  // namespace
}  // namespace futured::testing
