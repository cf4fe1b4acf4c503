// The daemon's adopted children, in a test process made a child subreaper:
// an orphan's group is killed and the orphan reaped; a group without an
// orphan is left alone, and another thread's child is never reaped.
#include "server/os/adopted_children.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/os/spawn_attributes.h"
#include "tests/poll_until.h"

extern char** environ;

namespace futured::server {
namespace {

using ::futured::testing::PollUntil;

// /bin/sh -c `script` in a process group of its own; -1 on failure.
pid_t SpawnShell(const char* script) {
  const CleanSpawnAttributes attr;
  const char* argv[] = {"/bin/sh", "-c", script, nullptr};
  pid_t pid = -1;
  if (posix_spawn(&pid, "/bin/sh", nullptr, attr.get(),
                  const_cast<char**>(argv), environ) != 0) {
    return -1;
  }
  return pid;
}

// Whether the main thread (which runs the tests) has a child left.
bool MainThreadHasChildren() {
  siginfo_t info{};
  return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | __WNOTHREAD) ==
         0;
}

char ProcessState(pid_t pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(file, line);
  const size_t close = line.rfind(')');
  return close == std::string::npos || close + 2 >= line.size()
             ? '?'
             : line[close + 2];
}

// A shell spawned by a thread of its own, as a pool spawns a worker: the
// thread keeps it until destruction, then kills its group and reaps it.
class SpawningThread {
 public:
  explicit SpawningThread(const char* script)
      : thread_([this, script] {
          pid_ = SpawnShell(script);
          spawned_.Notify();
          release_.WaitForNotification();
          if (pid_ <= 0) return;
          kill(-pid_, SIGKILL);
          waitpid(pid_, &wait_status_, 0);
        }) {
    spawned_.WaitForNotification();
  }
  // Ends the thread; returns the shell's wait status.
  int Release() {
    if (!release_.HasBeenNotified()) release_.Notify();
    if (thread_.joinable()) thread_.join();
    return wait_status_;
  }
  ~SpawningThread() { Release(); }

  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int wait_status_ = -1;
  absl::Notification spawned_;
  absl::Notification release_;
  std::thread thread_;  // last: it uses the members above
};

class AdoptedChildrenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(BecomeChildSubreaper().ok()); }
};

TEST_F(AdoptedChildrenTest, AnOrphansGroupIsKilledAndTheOrphanReaped) {
  // The shell exits at once; its background sleep stays in its group and
  // is adopted by the main thread.
  pid_t shell = -1;
  std::thread([&shell] {
    shell = SpawnShell("/bin/sleep 100 & exit 0");
    if (shell > 0) waitpid(shell, nullptr, 0);
  }).join();
  ASSERT_GT(shell, 0);
  ASSERT_TRUE(MainThreadHasChildren());
  EXPECT_TRUE(KillAdoptedGroup(shell));
  EXPECT_TRUE(PollUntil([] {
    ReapAdoptedChildren();
    return !MainThreadHasChildren();
  }));
}

TEST_F(AdoptedChildrenTest, AGroupWithoutAnAdoptedProcessIsLeftAlone) {
  SpawningThread worker("exec /bin/sleep 100");
  ASSERT_GT(worker.pid(), 0);
  EXPECT_FALSE(KillAdoptedGroup(worker.pid()));  // another thread's child
  EXPECT_FALSE(KillAdoptedGroup(getpgrp()));
  EXPECT_FALSE(KillAdoptedGroup(1));
  EXPECT_FALSE(KillAdoptedGroup(0));
  EXPECT_FALSE(KillAdoptedGroup(-1));
  EXPECT_EQ(kill(worker.pid(), 0), 0) << "it was killed";
}

TEST_F(AdoptedChildrenTest, AnotherThreadsChildIsNeverReaped) {
  SpawningThread worker("exit 7");
  ASSERT_GT(worker.pid(), 0);
  ASSERT_TRUE(PollUntil([&] { return ProcessState(worker.pid()) == 'Z'; }));
  ReapAdoptedChildren();
  KillAdoptedChildren(absl::Milliseconds(100));
  const int status = worker.Release();
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 7);
}

}  // namespace
}  // namespace futured::server
