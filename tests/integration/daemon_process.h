// Starts the real futured binary for one test, and ends it.
#ifndef FUTURED_TESTS_INTEGRATION_DAEMON_PROCESS_H_
#define FUTURED_TESTS_INTEGRATION_DAEMON_PROCESS_H_

#include <sys/types.h>

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "futured/v1/executor.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace futured::testing {

// One futured process on loopback (127.0.0.1, port 0) or on a unix socket in
// a fresh temporary directory, which also holds the daemon's journal
// (--state_dir) unless the test names one. The destructor kills (SIGKILL) and
// reaps the process if the test did not Stop() it, and removes the directory.
// Not thread-safe; owned by one test.
class DaemonProcess {
 public:
  struct Options {
    bool unix_socket = false;
    std::vector<std::string> flags;  // extra flags, e.g. "--threads=2"
    // Added to (or replacing, by name) the test's environment: "NAME=value".
    std::vector<std::string> env = {};
    // Whether Start() adds --listen (a test of FUTURED_LISTEN leaves it out
    // and names 127.0.0.1:0 itself).
    bool add_listen_flag = true;
    // Whether Start() waits for the listening line. Without it (unix
    // sockets only, whose address is known in advance) Start() returns once
    // the process is spawned: for a test that learns readiness otherwise,
    // as systemd does.
    bool wait_until_serving = true;
  };

  // Spawns the binary named by the FUTURED_BINARY compile definition with
  // --listen set, and waits (poll on its stdout, at most 30 s) for the line
  // "futured listening on <address>" that the daemon prints once it serves.
  static absl::StatusOr<std::unique_ptr<DaemonProcess>> Start(Options options);

  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  pid_t pid() const { return pid_; }
  // "127.0.0.1:<port>" or "unix:<path>", as printed by the daemon.
  const std::string& address() const { return address_; }

  std::shared_ptr<grpc::Channel> NewChannel() const;
  std::unique_ptr<futured::v1::Executor::Stub> NewStub() const;

  // The next line the daemon prints on stdout after its listening line
  // (e.g. "futured metrics on http://..."), without the newline. Waits at
  // most `timeout`; DEADLINE_EXCEEDED then, UNAVAILABLE at end of file.
  absl::StatusOr<std::string> ReadStdoutLine(
      absl::Duration timeout = absl::Seconds(30));

  // Sends `signal` and waits at most `timeout` for the process to exit.
  // Returns its wait status (use WIFEXITED/WEXITSTATUS), or
  // DEADLINE_EXCEEDED (the process is then SIGKILLed and reaped).
  absl::StatusOr<int> Stop(int signal = SIGTERM,
                           absl::Duration timeout = absl::Seconds(30));

 private:
  DaemonProcess() = default;

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int stdout_fd_ = -1;
  std::string stdout_buffer_;  // read from stdout_fd_, not yet returned
  std::string address_;
  std::string temp_dir_;
};

}  // namespace futured::testing

#endif  // FUTURED_TESTS_INTEGRATION_DAEMON_PROCESS_H_
