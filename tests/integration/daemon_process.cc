#include "tests/integration/daemon_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

extern char** environ;

namespace futured::testing {
namespace {

constexpr absl::Duration kStartTimeout = absl::Seconds(30);
// After the daemon's stdout closes without the line, how long to wait for the
// process itself to exit so that its status can be reported.
constexpr absl::Duration kExitAfterEofTimeout = absl::Seconds(5);
constexpr absl::string_view kListeningPrefix = "futured listening on ";

absl::Status ErrnoStatus(absl::string_view what, int error) {
  return absl::Status(absl::ErrnoToStatusCode(error),
                      absl::StrCat(what, ": ", std::strerror(error)));
}

// glibc 2.36's <sys/pidfd.h> lacks C++ linkage guards, hence the raw calls.
int PidfdOpen(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

int PidfdSendSignal(int pidfd, int signal) {
  return static_cast<int>(
      syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0));
}

// Milliseconds left until `deadline`, for poll(); 0 once it has passed.
int PollTimeoutMs(absl::Time deadline) {
  absl::Duration left = deadline - absl::Now();
  if (left <= absl::ZeroDuration()) return 0;
  return static_cast<int>(std::min<int64_t>(
      absl::ToInt64Milliseconds(absl::Ceil(left, absl::Milliseconds(1))),
      std::numeric_limits<int>::max()));
}

// Polls `fd` for readability until `deadline`. True when readable (or hung
// up), false when the deadline passed.
absl::StatusOr<bool> PollReadable(int fd, absl::Time deadline) {
  while (true) {
    pollfd pfd = {.fd = fd, .events = POLLIN, .revents = 0};
    int n = poll(&pfd, 1, PollTimeoutMs(deadline));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("poll", errno);
    }
    if (n > 0) return true;
    if (absl::Now() >= deadline) return false;
  }
}

std::string DescribeWaitStatus(int status) {
  if (WIFEXITED(status)) {
    return absl::StrCat("exited with status ", WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return absl::StrCat("killed by signal ", WTERMSIG(status), " (",
                        strsignal(WTERMSIG(status)), ")");
  }
  return absl::StrCat("wait status ", status);
}

// Starts argv[0] with `child_stdout` as its stdout, stdin and stderr
// inherited (its logs appear in the test's output) and no other descriptor,
// default signal dispositions and an empty mask. It stays in the test's
// process group, so a Ctrl-C on the test run reaches it, and it gets SIGKILL
// if the test dies first (ctest's timeout): posix_spawn cannot ask for that,
// so this forks and makes only async-signal-safe calls before exec.
// The test's environment with `overrides` ("NAME=value") added or replacing
// variables of the same name.
std::vector<std::string> ChildEnvironment(
    const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const absl::string_view entry = *e;
    const absl::string_view name = entry.substr(0, entry.find('='));
    const bool replaced = std::any_of(
        overrides.begin(), overrides.end(), [name](const std::string& o) {
          return absl::string_view(o).substr(0, o.find('=')) == name;
        });
    if (!replaced) env.emplace_back(entry);
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

absl::StatusOr<pid_t> Spawn(char* const argv[], char* const envp[],
                            int child_stdout) {
  const pid_t parent = getpid();
  sigset_t all_signals;
  sigfillset(&all_signals);
  sigset_t old_mask;
  pthread_sigmask(SIG_SETMASK, &all_signals, &old_mask);
  const pid_t pid = fork();
  if (pid == 0) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
      _exit(127);
    }
    if (dup2(child_stdout, STDOUT_FILENO) < 0) _exit(127);
    close_range(STDERR_FILENO + 1, ~0U, 0);
    struct sigaction default_action = {};
    default_action.sa_handler = SIG_DFL;
    for (int signal_number = 1; signal_number < NSIG; ++signal_number) {
      sigaction(signal_number, &default_action, nullptr);
    }
    sigset_t no_signals;
    sigemptyset(&no_signals);
    sigprocmask(SIG_SETMASK, &no_signals, nullptr);
    execve(argv[0], argv, envp);
    _exit(127);
  }
  const int fork_error = errno;
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  if (pid < 0) return ErrnoStatus("fork", fork_error);
  return pid;
}

}  // namespace

absl::StatusOr<std::unique_ptr<DaemonProcess>> DaemonProcess::Start(
    Options options) {
  // Owned from here on, so that every early return kills, reaps and cleans.
  std::unique_ptr<DaemonProcess> daemon(new DaemonProcess());

  std::string dir_template =
      (std::filesystem::temp_directory_path() / "futured-it-XXXXXX").string();
  if (mkdtemp(dir_template.data()) == nullptr) {
    return ErrnoStatus("mkdtemp", errno);
  }
  daemon->temp_dir_ = dir_template;
  std::string listen;
  if (options.unix_socket) {
    listen = absl::StrCat("unix:", daemon->temp_dir_, "/futured.sock");
  } else {
    listen = "127.0.0.1:0";
  }

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoStatus("pipe2", errno);
  daemon->stdout_fd_ = pipe_fds[0];
  const int child_stdout = pipe_fds[1];

  std::vector<std::string> args = {FUTURED_BINARY};
  if (options.add_listen_flag) {
    args.push_back(absl::StrCat("--listen=", listen));
  }
  // The daemon's own journal, as a user's daemon has one, unless the test
  // names a state directory itself.
  const auto names_state_dir = [](const std::string& s) {
    return absl::StartsWith(s, "--state_dir") ||
           absl::StartsWith(s, "FUTURED_STATE_DIR=");
  };
  if (std::none_of(options.flags.begin(), options.flags.end(),
                   names_state_dir) &&
      std::none_of(options.env.begin(), options.env.end(), names_state_dir)) {
    args.push_back(absl::StrCat("--state_dir=", daemon->temp_dir_, "/state"));
  }
  args.insert(args.end(), options.flags.begin(), options.flags.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  std::vector<std::string> env = ChildEnvironment(options.env);
  std::vector<char*> envp;
  for (std::string& entry : env) envp.push_back(entry.data());
  envp.push_back(nullptr);

  absl::StatusOr<pid_t> pid = Spawn(argv.data(), envp.data(), child_stdout);
  close(child_stdout);
  if (!pid.ok()) return pid.status();
  daemon->pid_ = *pid;
  // The child is not reaped yet, so `pid` cannot have been reused.
  daemon->pidfd_ = PidfdOpen(*pid);  // always close-on-exec
  if (daemon->pidfd_ < 0) return ErrnoStatus("pidfd_open", errno);

  if (!options.wait_until_serving) {
    if (!options.unix_socket) {
      return absl::InvalidArgumentError(
          "wait_until_serving = false needs a unix socket");
    }
    daemon->address_ = listen;
    return daemon;
  }
  // Read stdout until the one line the daemon prints once it serves.
  const absl::Time deadline = absl::Now() + kStartTimeout;
  std::string out;
  while (out.find('\n') == std::string::npos) {
    absl::StatusOr<bool> readable = PollReadable(daemon->stdout_fd_, deadline);
    if (!readable.ok()) return readable.status();
    if (!*readable) {
      return absl::DeadlineExceededError(absl::StrCat(
          "futured (pid ", *pid, ") did not print its listening line within ",
          absl::FormatDuration(kStartTimeout), "; stdout so far: \"", out,
          "\""));
    }
    char buf[512];
    ssize_t n = read(daemon->stdout_fd_, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return ErrnoStatus("read daemon stdout", errno);
    }
    if (n == 0) {
      // Stdout closed: the daemon died (or closed it) before serving.
      std::string how = "closed its stdout and is still running";
      absl::StatusOr<bool> exited =
          PollReadable(daemon->pidfd_, absl::Now() + kExitAfterEofTimeout);
      if (exited.ok() && *exited) {
        int status = 0;
        if (waitpid(*pid, &status, 0) == *pid) {
          daemon->pid_ = -1;
          how = DescribeWaitStatus(status);
        }
      }
      return absl::UnavailableError(absl::StrCat(
          "futured ", how, " before printing its listening line",
          "; args: ", absl::StrJoin(args, " "), "; stdout: \"", out, "\""));
    }
    out.append(buf, static_cast<size_t>(n));
  }

  absl::string_view line(out.data(), out.find('\n'));
  daemon->stdout_buffer_ = out.substr(out.find('\n') + 1);
  if (!absl::ConsumePrefix(&line, kListeningPrefix)) {
    return absl::InternalError(
        absl::StrCat("unexpected first line from futured: \"", line, "\""));
  }
  daemon->address_ = std::string(line);
  if (options.unix_socket && options.add_listen_flag) {
    if (daemon->address_ != listen) {
      return absl::InternalError(absl::StrCat("futured listens on \"",
                                              daemon->address_,
                                              "\", expected \"", listen, "\""));
    }
  } else {
    absl::string_view port_text = daemon->address_;
    int port = 0;
    if (!absl::ConsumePrefix(&port_text, "127.0.0.1:") ||
        !absl::SimpleAtoi(port_text, &port) || port <= 0 || port > 65535) {
      return absl::InternalError(absl::StrCat("futured listens on \"",
                                              daemon->address_,
                                              "\", expected 127.0.0.1:<port>"));
    }
  }
  return daemon;
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) {
    if (pidfd_ >= 0) {
      PidfdSendSignal(pidfd_, SIGKILL);
    } else {
      kill(pid_, SIGKILL);  // not reaped yet, so still our child
    }
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (pidfd_ >= 0) close(pidfd_);
  if (stdout_fd_ >= 0) close(stdout_fd_);
  if (!temp_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(temp_dir_, ignored);
  }
}

absl::StatusOr<std::string> DaemonProcess::ReadStdoutLine(
    absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (stdout_buffer_.find('\n') == std::string::npos) {
    absl::StatusOr<bool> readable = PollReadable(stdout_fd_, deadline);
    if (!readable.ok()) return readable.status();
    if (!*readable) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no line from futured within ", absl::FormatDuration(timeout),
          "; so far: \"", stdout_buffer_, "\""));
    }
    char buf[512];
    const ssize_t n = read(stdout_fd_, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return ErrnoStatus("read daemon stdout", errno);
    }
    if (n == 0) return absl::UnavailableError("futured closed its stdout");
    stdout_buffer_.append(buf, static_cast<size_t>(n));
  }
  const size_t newline = stdout_buffer_.find('\n');
  std::string line = stdout_buffer_.substr(0, newline);
  stdout_buffer_.erase(0, newline + 1);
  return line;
}

std::shared_ptr<grpc::Channel> DaemonProcess::NewChannel() const {
  grpc::ChannelArguments args;
  // Loopback only: never go through an http_proxy from the environment.
  args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  return grpc::CreateCustomChannel(address_, grpc::InsecureChannelCredentials(),
                                   args);
}

std::unique_ptr<futured::v1::Executor::Stub> DaemonProcess::NewStub() const {
  return futured::v1::Executor::NewStub(NewChannel());
}

absl::StatusOr<int> DaemonProcess::Stop(int signal, absl::Duration timeout) {
  if (pid_ <= 0) {
    return absl::FailedPreconditionError("futured is not running");
  }
  if (PidfdSendSignal(pidfd_, signal) != 0 && errno != ESRCH) {
    return ErrnoStatus(absl::StrCat("pidfd_send_signal ", signal), errno);
  }
  absl::StatusOr<bool> exited = PollReadable(pidfd_, absl::Now() + timeout);
  bool timed_out = exited.ok() && !*exited;
  if (!exited.ok() || timed_out) PidfdSendSignal(pidfd_, SIGKILL);
  int status = 0;
  pid_t reaped;
  do {
    reaped = waitpid(pid_, &status, 0);
  } while (reaped < 0 && errno == EINTR);
  if (reaped != pid_) return ErrnoStatus("waitpid", errno);
  pid_ = -1;
  if (!exited.ok()) return exited.status();
  if (timed_out) {
    return absl::DeadlineExceededError(absl::StrCat(
        "futured did not exit within ", absl::FormatDuration(timeout),
        " of signal ", signal, "; killed it"));
  }
  return status;
}

}  // namespace futured::testing
