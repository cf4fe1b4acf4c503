#include "server/tasks/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/os/child_process.h"
#include "server/os/unique_fd.h"
#include "server/tasks/os_error.h"
#include "server/tasks/termination_request.h"

namespace futured::server {
namespace {

// How often should_stop is asked.
constexpr absl::Duration kStopCheck = absl::Milliseconds(50);
constexpr size_t kIoChunk = 64 << 10;

// A pipe, both ends close-on-exec.
struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;

  bool Open() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return false;
    read_end = UniqueFd(fds[0]);
    write_end = UniqueFd(fds[1]);
    return true;
  }
};

void SetNonBlocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// NULL-terminated pointers into `strings`, which must outlive them.
std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (const std::string& s : strings) {
    pointers.push_back(const_cast<char*>(s.c_str()));
  }
  pointers.push_back(nullptr);
  return pointers;
}

// One output stream of the command, kept up to a limit. Used by the
// Session's thread only.
struct Output {
  UniqueFd fd;
  std::string* bytes;
  bool* truncated;
  size_t limit;

  // Reads what is there. Closes the descriptor at end of file.
  void ReadAvailable() {
    char buffer[kIoChunk];
    while (fd.get() >= 0) {
      const ssize_t n = read(fd.get(), buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return;
      if (n <= 0) {
        fd.Close();
        return;
      }
      const size_t room = limit - std::min(limit, bytes->size());
      bytes->append(buffer, std::min(room, static_cast<size_t>(n)));
      if (static_cast<size_t>(n) > room) *truncated = true;
    }
  }
};

// Starts the program; its ends of the pipes are closed by the caller.
std::variant<ChildProcess, TaskError> Spawn(const CommandSpec& spec,
                                            int stdin_fd, int stdout_fd,
                                            int stderr_fd) {
  if (!spec.cwd.empty()) {
    struct stat st {};
    if (stat(spec.cwd.c_str(), &st) != 0) {
      return OsError(errno, absl::StrCat("cwd ", spec.cwd));
    }
    if (!S_ISDIR(st.st_mode)) {
      return OsError(ENOTDIR, absl::StrCat("cwd ", spec.cwd));
    }
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, stdin_fd, STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stdout_fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, stderr_fd, STDERR_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  if (!spec.cwd.empty()) {
    posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());
  }
  // No blocked signals (the daemon blocks SIGTERM), default dispositions
  // (it ignores SIGPIPE), and a process group of its own to kill as one.
  std::vector<char*> argv = CStrings(spec.argv);
  std::vector<char*> envp = CStrings(spec.env);
  std::variant<ChildProcess, SpawnError> spawned = ChildProcess::Spawn(
      spec.executable.c_str(), &actions, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (const SpawnError* error = std::get_if<SpawnError>(&spawned)) {
    if (error->call == SpawnError::Call::kPidfdOpen) {
      return OsError(error->error, "pidfd_open");
    }
    return OsError(error->error, absl::StrCat("cannot run ", spec.executable));
  }
  return std::get<ChildProcess>(std::move(spawned));
}

// Milliseconds from now to `when` for poll(), at most kStopCheck.
int PollTimeoutMs(absl::Time now, absl::Time when) {
  const absl::Duration wait = std::min(kStopCheck, when - now);
  return static_cast<int>(std::max<int64_t>(
      0, absl::ToInt64Milliseconds(absl::Ceil(wait, absl::Milliseconds(1)))));
}

// The poll loop: feeds stdin, drains outputs, stops and reaps the child.
// Lives for one RunCommand() call, on its thread.
class Session {
 public:
  Session(const CommandSpec& spec, const std::function<bool()>& should_stop,
          ChildProcess& child, UniqueFd stdin_fd, UniqueFd stdout_fd,
          UniqueFd stderr_fd, CommandResult& result)
      : spec_(spec),
        should_stop_(should_stop),
        child_(child),
        stdin_(std::move(stdin_fd)),
        result_(result) {
    outputs_[0] = {.fd = std::move(stdout_fd),
                   .bytes = &result.stdout_bytes,
                   .truncated = &result.stdout_truncated,
                   .limit = spec.max_output_bytes};
    outputs_[1] = {.fd = std::move(stderr_fd),
                   .bytes = &result.stderr_bytes,
                   .truncated = &result.stderr_truncated,
                   .limit = spec.max_output_bytes};
    if (spec_.stdin_bytes.empty()) stdin_.Close();
  }

  void Run() {
    while (!Done()) {
      const absl::Time now = absl::Now();
      if (!exited_) CheckStop(now);
      PollOnce(now);
    }
  }

 private:
  bool Done() const {
    if (!exited_) return false;
    // After a stop or timeout, output still held open by an escaped
    // process is not waited for.
    const bool outputs_closed =
        outputs_[0].fd.get() < 0 && outputs_[1].fd.get() < 0;
    return outputs_closed || stop_sent_ || StopWanted(absl::Now());
  }

  bool StopWanted(absl::Time now) const {
    return now >= spec_.timeout_at || TerminationRequested() || should_stop_();
  }

  void CheckStop(absl::Time now) {
    if (!stop_sent_ && StopWanted(now)) {
      result_.end = now >= spec_.timeout_at ? CommandResult::End::kTimedOut
                                            : CommandResult::End::kStopped;
      stop_sent_ = true;
      child_.SignalGroup(SIGTERM);
      kill_at_ = now + spec_.kill_grace;
    }
    if (now >= kill_at_) {
      child_.SignalGroup(SIGKILL);
      kill_at_ = absl::InfiniteFuture();
    }
  }

  void PollOnce(absl::Time now) {
    std::array<pollfd, 5> fds = {
        pollfd{.fd = outputs_[0].fd.get(), .events = POLLIN, .revents = 0},
        pollfd{.fd = outputs_[1].fd.get(), .events = POLLIN, .revents = 0},
        pollfd{.fd = stdin_.get(), .events = POLLOUT, .revents = 0},
        pollfd{.fd = exited_ ? -1 : child_.pidfd(),
               .events = POLLIN,
               .revents = 0},
        pollfd{.fd = stop_sent_ ? -1 : TerminationRequestFd(),
               .events = POLLIN,
               .revents = 0}};
    const absl::Time wake_at =
        stop_sent_ ? kill_at_ : std::min(spec_.timeout_at, kill_at_);
    if (poll(fds.data(), fds.size(), PollTimeoutMs(now, wake_at)) <= 0) {
      return;  // a timeout, or EINTR (a worker's SIGTERM): re-check
    }
    for (size_t i = 0; i < outputs_.size(); ++i) {
      if (fds[i].revents != 0) outputs_[i].ReadAvailable();
    }
    if (fds[2].revents != 0) WriteStdin();
    if (fds[3].revents != 0) OnExit();
  }

  void WriteStdin() {
    const std::string& bytes = spec_.stdin_bytes;
    while (stdin_.get() >= 0) {
      const size_t n = std::min(kIoChunk, bytes.size() - stdin_written_);
      const ssize_t written =
          write(stdin_.get(), bytes.data() + stdin_written_, n);
      if (written < 0 && errno == EINTR) continue;
      if (written < 0 && errno == EAGAIN) return;
      if (written < 0) {  // EPIPE: it stopped reading, as it may
        stdin_.Close();
        return;
      }
      stdin_written_ += static_cast<size_t>(written);
      if (stdin_written_ == bytes.size()) stdin_.Close();
    }
  }

  // The leader exited: kill what it left in its group, then reap it.
  void OnExit() {
    child_.SignalGroup(SIGKILL);
    if (spec_.group_observer) spec_.group_observer(0);
    const ChildExit exit = child_.Reap();
    if (exit.exited) {
      result_.exit_code = exit.status;
    } else {
      result_.signal = exit.status;
    }
    exited_ = true;
    stdin_.Close();
    kill_at_ = absl::InfiniteFuture();
  }

  const CommandSpec& spec_;
  const std::function<bool()>& should_stop_;
  ChildProcess& child_;
  UniqueFd stdin_;
  std::array<Output, 2> outputs_;
  CommandResult& result_;
  size_t stdin_written_ = 0;
  bool exited_ = false;
  bool stop_sent_ = false;
  absl::Time kill_at_ = absl::InfiniteFuture();
};

}  // namespace

std::variant<CommandResult, TaskError> RunCommand(
    const CommandSpec& spec, const std::function<bool()>& should_stop) {
  const TerminationDeferral deferral;
  Pipe in, out, err;
  if (!in.Open() || !out.Open() || !err.Open()) {
    return OsError(errno, "cannot create pipes for the command");
  }
  std::variant<ChildProcess, TaskError> spawned =
      Spawn(spec, in.read_end.get(), out.write_end.get(), err.write_end.get());
  if (auto* error = std::get_if<TaskError>(&spawned)) return *error;
  ChildProcess& child = std::get<ChildProcess>(spawned);
  if (spec.group_observer) spec.group_observer(child.pid());
  in.read_end.Close();
  out.write_end.Close();
  err.write_end.Close();
  for (const UniqueFd* fd : {&in.write_end, &out.read_end, &err.read_end}) {
    SetNonBlocking(fd->get());
  }
  CommandResult result;
  Session(spec, should_stop, child, std::move(in.write_end),
          std::move(out.read_end), std::move(err.read_end), result)
      .Run();
  return result;
}

}  // namespace futured::server
