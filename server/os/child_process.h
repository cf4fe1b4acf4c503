// A child process known by its pidfd: spawned clean, signalled without
// hitting a reused PID, reaped once. Shared by the process pool (its
// workers) and the exec task's command runner (its commands).
#ifndef FUTURED_SERVER_OS_CHILD_PROCESS_H_
#define FUTURED_SERVER_OS_CHILD_PROCESS_H_

#include <spawn.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "absl/status/statusor.h"
#include "server/os/unique_fd.h"

namespace futured::server {

// "SIGTERM" for SIGTERM, "signal 0" for a number with no name.
std::string SignalName(int signal_number);

// How a child ended.
struct ChildExit {
  bool exited = false;  // true: it exited with code `status`
  int status = 0;       // its exit code, or the signal that killed it

  // "exited with code 3", "was killed by SIGKILL".
  std::string Describe() const;
};

// Why ChildProcess::Spawn() left no child.
struct SpawnError {
  enum class Call { kPosixSpawn, kPidfdOpen };
  Call call;  // the call that failed
  int error;  // its errno value
};

// One spawned child: its PID, which is also its process group's ID, and
// its pidfd, which polls readable once it has ended. Owned by the thread
// that spawned it, which alone signals and reaps it (a thread's children are
// its own: see server/os/adopted_children.h). Move-only; the destructor
// closes the pidfd but neither kills nor reaps the child.
class ChildProcess {
 public:
  ChildProcess() = default;  // no child
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() = default;

  // posix_spawn of `path` with `argv` and `envp` (null-terminated), the
  // descriptors `actions` arranges (null: the caller's, as they are) and
  // CleanSpawnAttributes: no blocked signal, default dispositions and a
  // process group of its own. Then opens its pidfd; if that fails, the
  // child's group is killed and the child reaped. Never a child on error.
  static std::variant<ChildProcess, SpawnError> Spawn(
      const char* path, const posix_spawn_file_actions_t* actions,
      char* const* argv, char* const* envp);

  // Its PID, also once reaped (for messages); -1 for no child.
  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }

  // Sends `signal_number` to the child through its pidfd: never to another
  // process that has come to hold its PID.
  void Signal(int signal_number) const;

  // Sends `signal_number` to every process of the child's group. Until the
  // child is reaped its PID, and so its group's ID, cannot be reused; after
  // Reap() this does nothing.
  void SignalGroup(int signal_number) const;

  // The child's end if it has ended, without reaping it (so that
  // SignalGroup() still reaches what is left of its group); nullopt while
  // it runs. Never blocks. An error only if it cannot be waited for (it
  // was reaped by someone else).
  absl::StatusOr<std::optional<ChildExit>> PeekExit() const;

  // Waits for the child to end and reaps it. Blocks unless it has ended (its
  // pidfd polls readable). A child that cannot be waited for reads as
  // killed by signal 0.
  ChildExit Reap();

 private:
  ChildProcess(pid_t pid, UniqueFd pidfd)
      : pid_(pid), pidfd_(std::move(pidfd)) {}

  pid_t pid_ = -1;  // -1: no child
  UniqueFd pidfd_;
  bool reaped_ = false;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_OS_CHILD_PROCESS_H_
