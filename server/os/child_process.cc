#include "server/os/child_process.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/os/spawn_attributes.h"

namespace futured::server {
namespace {

// waitid()'s P_PIDFD (linux/wait.h; glibc 2.36's sys/wait.h lacks it).
constexpr idtype_t kPidfdIdType = static_cast<idtype_t>(3);

ChildExit ExitOf(const siginfo_t& info) {
  return ChildExit{.exited = info.si_code == CLD_EXITED,
                   .status = info.si_status};
}

}  // namespace

std::string SignalName(int signal_number) {
  const char* abbrev = sigabbrev_np(signal_number);
  return abbrev == nullptr ? absl::StrCat("signal ", signal_number)
                           : absl::StrCat("SIG", abbrev);
}

std::string ChildExit::Describe() const {
  return exited ? absl::StrCat("exited with code ", status)
                : absl::StrCat("was killed by ", SignalName(status));
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      reaped_(other.reaped_) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    reaped_ = other.reaped_;
  }
  return *this;
}

std::variant<ChildProcess, SpawnError> ChildProcess::Spawn(
    const char* path, const posix_spawn_file_actions_t* actions,
    char* const* argv, char* const* envp) {
  const CleanSpawnAttributes attr;
  pid_t pid = -1;
  const int spawn_error =
      posix_spawn(&pid, path, actions, attr.get(), argv, envp);
  if (spawn_error != 0) {
    return SpawnError{.call = SpawnError::Call::kPosixSpawn,
                      .error = spawn_error};
  }
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  if (pidfd.get() < 0) {
    const int error = errno;
    kill(-pid, SIGKILL);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    return SpawnError{.call = SpawnError::Call::kPidfdOpen, .error = error};
  }
  return ChildProcess(pid, std::move(pidfd));
}

void ChildProcess::Signal(int signal_number) const {
  if (pidfd_.get() < 0) return;
  syscall(SYS_pidfd_send_signal, pidfd_.get(), signal_number, nullptr, 0);
}

void ChildProcess::SignalGroup(int signal_number) const {
  if (pid_ <= 0 || reaped_) return;
  kill(-pid_, signal_number);
}

absl::StatusOr<std::optional<ChildExit>> ChildProcess::PeekExit() const {
  siginfo_t info{};
  if (waitid(kPidfdIdType, pidfd_.get(), &info, WEXITED | WNOHANG | WNOWAIT) !=
      0) {
    return absl::ErrnoToStatus(errno, "waitid");
  }
  if (info.si_pid == 0) return std::nullopt;  // not yet
  return ExitOf(info);
}

ChildExit ChildProcess::Reap() {
  siginfo_t info{};
  while (waitid(kPidfdIdType, pidfd_.get(), &info, WEXITED) != 0) {
    if (errno != EINTR) {
      info = siginfo_t{};
      info.si_code = CLD_KILLED;
      break;
    }
  }
  reaped_ = true;
  return ExitOf(info);
}

}  // namespace futured::server
