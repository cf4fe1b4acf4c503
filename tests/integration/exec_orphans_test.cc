// Nothing an exec task starts outlives it: not when its worker process is
// killed with SIGKILL (as by the OOM killer), not when the daemon is, not
// when a process leaves the command's group, and no zombie stays behind.
// Every process a command starts carries a marker in its environment, by
// which these tests find (and in the end kill) them.
#include <dirent.h>
#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_test.h"
#include "tests/integration/executor_calls.h"
#include "tests/poll_until.h"

namespace futured::testing {
namespace {

using ::futured::v1::FutureInfo;
using ::futured::v1::SubmitRequest;

constexpr char kMarkerVariable[] = "FUTURED_ORPHAN_TEST";

std::vector<pid_t> AllPids() {
  std::vector<pid_t> pids;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return pids;
  while (dirent* entry = readdir(proc)) {
    pid_t pid = 0;
    if (absl::SimpleAtoi(entry->d_name, &pid)) pids.push_back(pid);
  }
  closedir(proc);
  return pids;
}

// Empty when it cannot be read: a process that exits while its file is read
// fails the read (ESRCH), which libstdc++'s filebuf throws.
std::string ReadWhole(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  try {
    return std::string(std::istreambuf_iterator<char>(file), {});
  } catch (const std::ios_base::failure&) {
    return {};
  }
}

// The processes (not zombies: those have no environment) whose environment
// holds kMarkerVariable with a value starting with `prefix`.
std::vector<pid_t> MarkedProcesses(const std::string& prefix) {
  const std::string entry = absl::StrCat(kMarkerVariable, "=", prefix);
  std::vector<pid_t> marked;
  for (const pid_t pid : AllPids()) {
    const std::string environ =
        ReadWhole(absl::StrCat("/proc/", pid, "/environ"));
    std::istringstream variables(environ);
    std::string variable;
    while (std::getline(variables, variable, '\0')) {
      if (absl::StartsWith(variable, entry)) {
        marked.push_back(pid);
        break;
      }
    }
  }
  return marked;
}

// The zombie children of `parent`: exit statuses nobody collected.
std::vector<pid_t> ZombieChildren(pid_t parent) {
  std::vector<pid_t> zombies;
  for (const pid_t pid : AllPids()) {
    const std::string line = ReadWhole(absl::StrCat("/proc/", pid, "/stat"));
    // "pid (comm) S ppid ...": comm may hold spaces and parentheses.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    char state = '?';
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && state == 'Z') zombies.push_back(pid);
  }
  return zombies;
}

std::string Join(const std::vector<pid_t>& pids) {
  std::string text;
  for (const pid_t pid : pids) absl::StrAppend(&text, pid, " ");
  return text;
}

class ExecOrphansTest : public DaemonTest {
 protected:
  void SetUp() override {
    marker_ = absl::StrCat("exec-orphans-", getpid(), "-",
                           absl::ToUnixNanos(absl::Now()));
  }

  void TearDown() override {
    DaemonTest::TearDown();
    // If the daemon failed to, end what the test's commands started.
    for (const pid_t pid : MarkedProcesses(marker_)) kill(pid, SIGKILL);
  }

  void StartWithExec(std::vector<std::string> flags = {}) {
    flags.push_back("--exec_allow=/bin/sh");
    ASSERT_NO_FATAL_FAILURE(StartDaemon(false, std::move(flags)));
  }

  // exec of `/bin/sh -c script` in `pool`, its environment marked with
  // marker_ + `suffix`.
  SubmitRequest Exec(const std::string& pool, const std::string& script,
                     const std::string& suffix = "") const {
    SubmitRequest request =
        CallOf("exec", {ListValue({StringValue("/bin/sh"), StringValue("-c"),
                                   StringValue(script)})});
    request.set_pool(pool);
    google::protobuf::Value env;
    (*env.mutable_struct_value()->mutable_fields())[kMarkerVariable] =
        StringValue(absl::StrCat(marker_, suffix));
    (*request.mutable_kwargs()->mutable_fields())["env"] = env;
    return request;
  }

  // Submits `request` and waits until it runs and at least `processes`
  // marked with marker_ + `suffix` exist. Returns its future's info.
  FutureInfo SubmitAndAwait(const SubmitRequest& request, size_t processes,
                            const std::string& suffix = "") {
    const std::string id = MustSubmit(request);
    absl::StatusOr<FutureInfo> running =
        calls_->AwaitState(id, futured::v1::FUTURE_STATE_RUNNING);
    EXPECT_TRUE(running.ok()) << running.status();
    const std::string marker = absl::StrCat(marker_, suffix);
    EXPECT_TRUE(PollUntil([&] {
      return MarkedProcesses(marker).size() >= processes;
    })) << "the command's processes never appeared";
    return running.ok() ? *running : FutureInfo();
  }

  // Kills the worker running `info`'s task and expects its future to fail.
  void KillWorkerOf(const FutureInfo& info) {
    ASSERT_GT(info.worker_pid(), 0) << info.ShortDebugString();
    ASSERT_EQ(kill(static_cast<pid_t>(info.worker_pid()), SIGKILL), 0);
    const FutureInfo done = MustResult(info.id());
    EXPECT_EQ(done.outcome().error().type(), "WorkerDiedError")
        << done.ShortDebugString();
  }

  void ExpectNoMarkedProcessLeft() {
    std::vector<pid_t> left;
    EXPECT_TRUE(PollUntil([&] {
      left = MarkedProcesses(marker_);
      return left.empty();
    })) << "still running: "
        << Join(left);
  }

  void ExpectNoZombieChild() {
    std::vector<pid_t> zombies;
    EXPECT_TRUE(PollUntil([&] {
      zombies = ZombieChildren(daemon_->pid());
      return zombies.empty();
    })) << "zombie children of the daemon: "
        << Join(zombies);
  }

  std::string marker_;
};

TEST_F(ExecOrphansTest, AWorkerKilledWithSigkillTakesItsCommandAlong) {
  ASSERT_NO_FATAL_FAILURE(StartWithExec({"--processes=1"}));
  const FutureInfo info =
      SubmitAndAwait(Exec("process", "/bin/sleep 120; :"), /*processes=*/2);
  ASSERT_NO_FATAL_FAILURE(KillWorkerOf(info));
  ExpectNoMarkedProcessLeft();
  ExpectNoZombieChild();
  // The pool goes on with a new worker.
  const std::string id = MustSubmit(Exec("process", "exit 3"));
  EXPECT_EQ(MustResult(id)
                .outcome()
                .value()
                .struct_value()
                .fields()
                .at("exit_code")
                .number_value(),
            3);
}

TEST_F(ExecOrphansTest, AStormOfWorkerKillsLeavesNoCommandBehind) {
  ASSERT_NO_FATAL_FAILURE(StartWithExec({"--processes=2"}));
  for (int round = 0; round < 20; ++round) {
    const std::string suffix = absl::StrCat("-", round);
    const FutureInfo info = SubmitAndAwait(
        Exec("process", "/bin/sleep 120 & /bin/sleep 120; :", suffix),
        /*processes=*/3, suffix);
    ASSERT_NO_FATAL_FAILURE(KillWorkerOf(info)) << "round " << round;
  }
  ExpectNoMarkedProcessLeft();
  ExpectNoZombieChild();
}

TEST_F(ExecOrphansTest, ACancelThatCannotWaitForTheWorkerStillEndsItsCommand) {
  // No grace: the daemon SIGKILLs the worker before it can end a command
  // that ignores SIGTERM; the worker is recycled after this one task.
  ASSERT_NO_FATAL_FAILURE(StartWithExec(
      {"--processes=1", "--worker_kill_grace=0s", "--max_tasks_per_child=1"}));
  const FutureInfo info = SubmitAndAwait(
      Exec("process", "trap '' TERM; /bin/sleep 120; :"), /*processes=*/2);
  futured::v1::CancelResponse cancelled;
  ASSERT_TRUE(calls_->Cancel(info.id(), &cancelled).ok());
  EXPECT_EQ(MustResult(info.id()).state(), futured::v1::FUTURE_STATE_CANCELLED);
  ExpectNoMarkedProcessLeft();
  ExpectNoZombieChild();
}

TEST_F(ExecOrphansTest, ADaemonKilledWithSigkillTakesProcessPoolCommands) {
  ASSERT_NO_FATAL_FAILURE(StartWithExec({"--processes=1"}));
  SubmitAndAwait(Exec("process", "/bin/sleep 120; :"), /*processes=*/2);
  ASSERT_TRUE(daemon_->Stop(SIGKILL).ok());
  daemon_.reset();
  ExpectNoMarkedProcessLeft();
}

TEST_F(ExecOrphansTest, TheDaemonReapsWhatAThreadPoolCommandLeft) {
  ASSERT_NO_FATAL_FAILURE(StartWithExec());
  // The shell's background child is orphaned, then killed with the group.
  const std::string id = MustSubmit(Exec("thread", "/bin/sleep 120 & exit 0"));
  EXPECT_EQ(MustResult(id)
                .outcome()
                .value()
                .struct_value()
                .fields()
                .at("exit_code")
                .number_value(),
            0);
  ExpectNoMarkedProcessLeft();
  ExpectNoZombieChild();
}

TEST_F(ExecOrphansTest, ShutdownKillsAProcessThatLeftItsCommandsGroup) {
  ASSERT_NO_FATAL_FAILURE(StartWithExec({"--shutdown_grace=0s"}));
  // setsid takes the second sleep out of the group that cancel kills.
  SubmitAndAwait(Exec("thread",
                      "/usr/bin/setsid /bin/sleep 120 & "
                      "/bin/sleep 120; :"),
                 /*processes=*/3);
  absl::StatusOr<int> status = daemon_->Stop(SIGTERM);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  daemon_.reset();
  ExpectNoMarkedProcessLeft();
}

}  // namespace
}  // namespace futured::testing
