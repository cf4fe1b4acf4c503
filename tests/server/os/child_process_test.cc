// ChildProcess with real children (/bin/sh): how they ended, signals through
// the pidfd and to the group, a peek that leaves the group signallable, and
// spawn failures that leave no child.
#include "server/os/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <variant>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

extern char** environ;

namespace futured::server {
namespace {

// /bin/sh -c `script`, with stdout on `stdout_fd` if it is not -1.
std::variant<ChildProcess, SpawnError> SpawnShell(const char* script,
                                                  int stdout_fd = -1) {
  const char* argv[] = {"/bin/sh", "-c", script, nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (stdout_fd >= 0) {
    posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  }
  std::variant<ChildProcess, SpawnError> child = ChildProcess::Spawn(
      "/bin/sh", &actions, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  return child;
}

// Whether `child`'s pidfd says it has ended within 10 s.
bool Ends(const ChildProcess& child) {
  pollfd fd{.fd = child.pidfd(), .events = POLLIN, .revents = 0};
  return poll(&fd, 1, 10'000) == 1;
}

// Whether process `pid` has gone or is a zombie within 10 s.
bool Dies(pid_t pid) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (absl::Now() < deadline) {
    const int fd = open(absl::StrCat("/proc/", pid, "/stat").c_str(),
                        O_RDONLY | O_CLOEXEC);
    if (fd < 0) return true;
    char stat[512] = {};
    const ssize_t n = read(fd, stat, sizeof(stat) - 1);
    close(fd);
    const char* state = n > 0 ? strrchr(stat, ')') : nullptr;
    if (state != nullptr && state[1] == ' ' && state[2] == 'Z') return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return false;
}

TEST(SignalNameTest, NamesKnownSignalsAndNumbersTheRest) {
  EXPECT_EQ(SignalName(SIGKILL), "SIGKILL");
  EXPECT_EQ(SignalName(SIGXCPU), "SIGXCPU");
  EXPECT_EQ(SignalName(0), "signal 0");
}

TEST(ChildExitTest, DescribesAnExitAndAKill) {
  EXPECT_EQ((ChildExit{.exited = true, .status = 3}).Describe(),
            "exited with code 3");
  EXPECT_EQ((ChildExit{.exited = false, .status = SIGTERM}).Describe(),
            "was killed by SIGTERM");
}

TEST(ChildProcessTest, ReapsAnExitCode) {
  std::variant<ChildProcess, SpawnError> spawned = SpawnShell("exit 3");
  ASSERT_TRUE(std::holds_alternative<ChildProcess>(spawned));
  ChildProcess& child = std::get<ChildProcess>(spawned);
  const pid_t pid = child.pid();
  EXPECT_GT(pid, 0);
  ASSERT_TRUE(Ends(child));
  const ChildExit exit = child.Reap();
  EXPECT_TRUE(exit.exited);
  EXPECT_EQ(exit.status, 3);
  EXPECT_EQ(exit.Describe(), "exited with code 3");
  EXPECT_EQ(child.pid(), pid);  // kept for messages
}

TEST(ChildProcessTest, LeadsItsOwnProcessGroup) {
  std::variant<ChildProcess, SpawnError> spawned = SpawnShell("exec sleep 60");
  ASSERT_TRUE(std::holds_alternative<ChildProcess>(spawned));
  ChildProcess& child = std::get<ChildProcess>(spawned);
  EXPECT_EQ(getpgid(child.pid()), child.pid());
  EXPECT_NE(getpgid(child.pid()), getpgrp());
  child.Signal(SIGKILL);
  child.Reap();
}

TEST(ChildProcessTest, SignalReachesItDespiteTheParentsMask) {
  // The parent blocks SIGTERM (as the daemon does); the child starts with
  // no blocked signal and the default disposition, so SIGTERM kills it.
  sigset_t term;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  sigset_t old;
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &term, &old), 0);
  std::variant<ChildProcess, SpawnError> spawned = SpawnShell("exec sleep 60");
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ASSERT_TRUE(std::holds_alternative<ChildProcess>(spawned));
  ChildProcess& child = std::get<ChildProcess>(spawned);
  child.Signal(SIGTERM);
  ASSERT_TRUE(Ends(child));
  const ChildExit exit = child.Reap();
  EXPECT_FALSE(exit.exited);
  EXPECT_EQ(exit.status, SIGTERM);
  EXPECT_EQ(exit.Describe(), "was killed by SIGTERM");
}

TEST(ChildProcessTest, PeekLeavesTheGroupToSignalUntilReaped) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  // The shell starts a background sleep in its group, says its PID, and
  // exits.
  std::variant<ChildProcess, SpawnError> spawned =
      SpawnShell("sleep 60 </dev/null >/dev/null & echo $!", fds[1]);
  close(fds[1]);
  ASSERT_TRUE(std::holds_alternative<ChildProcess>(spawned));
  ChildProcess& child = std::get<ChildProcess>(spawned);
  std::string text;
  char buffer[64];
  ssize_t n;
  while ((n = read(fds[0], buffer, sizeof(buffer))) > 0) text.append(buffer, n);
  close(fds[0]);
  pid_t background = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(text), &background))
      << text;

  ASSERT_TRUE(Ends(child));
  absl::StatusOr<std::optional<ChildExit>> peeked = child.PeekExit();
  ASSERT_TRUE(peeked.ok()) << peeked.status();
  ASSERT_TRUE(peeked->has_value());
  EXPECT_TRUE((*peeked)->exited);
  EXPECT_EQ((*peeked)->status, 0);
  // Not reaped: its group's ID is still its own, and reaches the sleep.
  EXPECT_EQ(getpgid(background), child.pid());
  child.SignalGroup(SIGKILL);
  EXPECT_TRUE(Dies(background));
  const ChildExit exit = child.Reap();
  EXPECT_TRUE(exit.exited);
  EXPECT_EQ(exit.status, 0);
}

TEST(ChildProcessTest, PeekSaysNothingWhileItRuns) {
  std::variant<ChildProcess, SpawnError> spawned = SpawnShell("exec sleep 60");
  ASSERT_TRUE(std::holds_alternative<ChildProcess>(spawned));
  ChildProcess& child = std::get<ChildProcess>(spawned);
  absl::StatusOr<std::optional<ChildExit>> peeked = child.PeekExit();
  ASSERT_TRUE(peeked.ok()) << peeked.status();
  EXPECT_FALSE(peeked->has_value());
  child.SignalGroup(SIGKILL);
  const ChildExit exit = child.Reap();
  EXPECT_FALSE(exit.exited);
  EXPECT_EQ(exit.status, SIGKILL);
}

TEST(ChildProcessTest, AMissingProgramIsAPosixSpawnError) {
  const char* argv[] = {"/nonexistent/program", nullptr};
  std::variant<ChildProcess, SpawnError> spawned = ChildProcess::Spawn(
      "/nonexistent/program", nullptr, const_cast<char**>(argv), environ);
  ASSERT_TRUE(std::holds_alternative<SpawnError>(spawned));
  EXPECT_EQ(std::get<SpawnError>(spawned).call, SpawnError::Call::kPosixSpawn);
  EXPECT_EQ(std::get<SpawnError>(spawned).error, ENOENT);
}

TEST(ChildProcessTest, AMovedChildIsSignalledByItsNewOwnerOnly) {
  std::variant<ChildProcess, SpawnError> spawned = SpawnShell("exec sleep 60");
  ASSERT_TRUE(std::holds_alternative<ChildProcess>(spawned));
  ChildProcess moved = std::move(std::get<ChildProcess>(spawned));
  const ChildProcess& old = std::get<ChildProcess>(spawned);
  EXPECT_EQ(old.pid(), -1);
  EXPECT_EQ(old.pidfd(), -1);
  old.SignalGroup(SIGKILL);  // no child: nothing (not kill(1, ...))
  moved.SignalGroup(SIGKILL);
  const ChildExit exit = moved.Reap();
  EXPECT_EQ(exit.status, SIGKILL);
}

}  // namespace
}  // namespace futured::server
