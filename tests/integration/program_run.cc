#include "tests/integration/program_run.h"

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"

extern char** environ;

namespace futured::testing {
namespace {

absl::Status ErrnoStatus(absl::string_view what, int error) {
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat(what, ": ", std::strerror(error)));
}

// Milliseconds left until `deadline`, for poll(); 0 once it has passed.
int PollTimeoutMs(absl::Time deadline) {
  const absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(
      absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))),
      std::numeric_limits<int>::max()));
}

// The test's environment with `overrides` ("NAME=value") put in.
std::vector<std::string> Environment(
    const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const absl::string_view text(*entry);
    const absl::string_view name = text.substr(0, text.find('='));
    const bool overridden =
        std::any_of(overrides.begin(), overrides.end(), [&](const auto& o) {
          return absl::string_view(o).substr(0, o.find('=')) == name;
        });
    if (!overridden) env.emplace_back(text);
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

std::vector<char*> Pointers(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

void CloseIfOpen(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

}  // namespace

absl::StatusOr<ProgramResult> RunProgram(const std::vector<std::string>& argv,
                                         const ProgramOptions& options) {
  // Parent ends [0], child ends [1]; all close-on-exec, so that only the
  // dup2 copies reach the child.
  int in_fds[2] = {-1, -1};
  int out_fds[2] = {-1, -1};
  int err_fds[2] = {-1, -1};
  absl::Cleanup close_all = [&] {
    for (int* fds : {in_fds, out_fds, err_fds}) {
      CloseIfOpen(fds[0]);
      CloseIfOpen(fds[1]);
    }
  };
  int stdin_pipe[2];
  if (pipe2(stdin_pipe, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);
  in_fds[0] = stdin_pipe[1];  // the parent writes
  in_fds[1] = stdin_pipe[0];
  if (pipe2(out_fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);
  if (options.stderr_is_terminal) {
    int master = -1;
    int slave = -1;
    if (openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) {
      return ErrnoStatus("openpty", errno);
    }
    err_fds[0] = master;
    err_fds[1] = slave;
    fcntl(master, F_SETFD, FD_CLOEXEC);
    fcntl(slave, F_SETFD, FD_CLOEXEC);
  } else if (pipe2(err_fds, O_CLOEXEC) != 0) {
    return ErrnoStatus("pipe2", errno);
  }

  std::vector<std::string> args = argv;
  std::vector<std::string> env = Environment(options.env);
  std::vector<char*> arg_pointers = Pointers(args);
  std::vector<char*> env_pointers = Pointers(env);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_fds[1], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_fds[1], STDERR_FILENO);
  posix_spawn_file_actions_addclosefrom_np(&actions, STDERR_FILENO + 1);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  sigset_t all_signals;
  sigfillset(&all_signals);
  posix_spawnattr_setsigmask(&attr, &no_signals);
  posix_spawnattr_setsigdefault(&attr, &all_signals);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  const int spawn_error = posix_spawn(&pid, args[0].c_str(), &actions, &attr,
                                      arg_pointers.data(), env_pointers.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  for (int* fds : {in_fds, out_fds, err_fds}) CloseIfOpen(fds[1]);
  if (spawn_error != 0) {
    return ErrnoStatus(absl::StrCat("posix_spawn ", args[0]), spawn_error);
  }
  // Reaped exactly once below, on every path.
  bool reaped = false;
  absl::Cleanup reap = [&] {
    if (reaped) return;
    kill(pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
  };

  if (!options.stdin_text.empty() &&
      write(in_fds[0], options.stdin_text.data(), options.stdin_text.size()) !=
          static_cast<ssize_t>(options.stdin_text.size())) {
    return ErrnoStatus("write stdin", errno);
  }
  CloseIfOpen(in_fds[0]);

  const absl::Time deadline = absl::Now() + options.timeout;
  ProgramResult result;
  std::string* sinks[2] = {&result.out, &result.err};
  while (out_fds[0] >= 0 || err_fds[0] >= 0) {
    pollfd pfds[2] = {{.fd = out_fds[0], .events = POLLIN, .revents = 0},
                      {.fd = err_fds[0], .events = POLLIN, .revents = 0}};
    const int n = poll(pfds, 2, PollTimeoutMs(deadline));
    if (n < 0 && errno != EINTR) return ErrnoStatus("poll", errno);
    if (n == 0) {
      return absl::DeadlineExceededError(absl::StrCat(
          args[0], " still running after ",
          absl::FormatDuration(options.timeout),
          "; stdout so far: ", result.out, "; stderr so far: ", result.err));
    }
    for (int i = 0; i < 2; ++i) {
      if (pfds[i].fd < 0 || pfds[i].revents == 0) continue;
      char buffer[4096];
      const ssize_t got = read(pfds[i].fd, buffer, sizeof(buffer));
      if (got > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        // EOF; a terminal's master reads EIO once the program is gone.
        CloseIfOpen(i == 0 ? out_fds[0] : err_fds[0]);
      }
    }
  }

  // Both streams closed: the program is exiting. Wait for it, bounded.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return ErrnoStatus("pidfd_open", errno);
  pollfd exit_poll = {.fd = pidfd, .events = POLLIN, .revents = 0};
  int n;
  while ((n = poll(&exit_poll, 1, PollTimeoutMs(deadline))) < 0 &&
         errno == EINTR) {
  }
  close(pidfd);
  if (n == 0) {
    return absl::DeadlineExceededError(
        absl::StrCat(args[0], " closed its output but did not exit"));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoStatus("waitpid", errno);
  }
  reaped = true;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

}  // namespace futured::testing
