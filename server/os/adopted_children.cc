#include "server/os/adopted_children.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/base/const_init.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"

namespace futured::server {
namespace {

// Held while the adopted children are reaped, and while one of them is
// taken as proof that a group ID is still in use.
ABSL_CONST_INIT absl::Mutex reap_mu(absl::kConstInit);

bool OnMainThread() { return syscall(SYS_gettid) == getpid(); }

// The main thread's children: the adopted ones, alive or not yet reaped.
std::vector<pid_t> AdoptedChildren() ABSL_EXCLUSIVE_LOCKS_REQUIRED(reap_mu) {
  const std::string path =
      absl::StrCat("/proc/self/task/", getpid(), "/children");
  std::vector<pid_t> children;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return children;
  std::string text;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0 ||
         (n < 0 && errno == EINTR)) {
    if (n > 0) text.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  for (absl::string_view word :
       absl::StrSplit(text, ' ', absl::SkipWhitespace())) {
    pid_t pid = 0;
    if (absl::SimpleAtoi(word, &pid)) children.push_back(pid);
  }
  return children;
}

void ReapLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(reap_mu) {
  while (true) {
    siginfo_t info{};
    // Children of this thread only: never a worker or a thread-pool command.
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | __WNOTHREAD) != 0) {
      if (errno == EINTR) continue;
      return;  // ECHILD: no child at all
    }
    if (info.si_pid == 0) return;  // none has ended
  }
}

}  // namespace

absl::Status BecomeChildSubreaper() {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    return absl::ErrnoToStatus(errno, "prctl(PR_SET_CHILD_SUBREAPER)");
  }
  return absl::OkStatus();
}

void ReapAdoptedChildren() {
  if (!OnMainThread()) return;
  absl::MutexLock lock(&reap_mu);
  ReapLocked();
}

bool KillAdoptedGroup(pid_t group) {
  if (group <= 1 || group == getpgrp()) return false;
  absl::MutexLock lock(&reap_mu);
  for (const pid_t child : AdoptedChildren()) {
    if (getpgid(child) == group) return kill(-group, SIGKILL) == 0;
  }
  return false;
}

void KillAdoptedChildren(absl::Duration timeout) {
  if (!OnMainThread()) return;
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    {
      absl::MutexLock lock(&reap_mu);
      ReapLocked();
      const std::vector<pid_t> children = AdoptedChildren();
      if (children.empty() || absl::Now() >= deadline) return;
      // Each is unreaped, so its PID is its own.
      for (const pid_t child : children) kill(child, SIGKILL);
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
}

}  // namespace futured::server
