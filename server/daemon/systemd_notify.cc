#include "server/daemon/systemd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace futured::server {
namespace {

std::string TakeVariable(const char* name) {
  const char* value = std::getenv(name);
  std::string copy = value == nullptr ? "" : value;
  unsetenv(name);
  return copy;
}

}  // namespace

absl::StatusOr<NotifyEnvironment> TakeNotifyEnvironment() {
  NotifyEnvironment environment;
  environment.socket = TakeVariable("NOTIFY_SOCKET");
  const std::string usec = TakeVariable("WATCHDOG_USEC");
  const std::string pid = TakeVariable("WATCHDOG_PID");
  if (usec.empty()) return environment;
  uint64_t microseconds = 0;
  if (!absl::SimpleAtoi(usec, &microseconds) || microseconds == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "environment variable WATCHDOG_USEC is not a positive number of "
        "microseconds: '",
        usec, "'"));
  }
  int watchdog_pid = 0;
  if (!pid.empty() &&
      (!absl::SimpleAtoi(pid, &watchdog_pid) || watchdog_pid != getpid())) {
    return environment;  // the watchdog is meant for another process
  }
  environment.watchdog_interval =
      absl::Microseconds(static_cast<int64_t>(microseconds)) / 2;
  return environment;
}

SystemdNotifier::SystemdNotifier(NotifyEnvironment environment)
    : environment_(std::move(environment)) {}

SystemdNotifier::~SystemdNotifier() {
  stop_.Notify();
  if (watchdog_.joinable()) watchdog_.join();
}

absl::Status SystemdNotifier::Notify(absl::string_view state) const {
  if (!enabled()) return absl::OkStatus();
  const std::string& path = environment_.socket;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path) ||
      (path[0] != '/' && path[0] != '@')) {
    return absl::InvalidArgumentError(
        absl::StrCat("NOTIFY_SOCKET '", path,
                     "' is neither an absolute path nor an @abstract name"));
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  if (path[0] == '@') address.sun_path[0] = '\0';  // abstract namespace
  // An abstract name's length is exact; a path's includes its NUL.
  const socklen_t length = static_cast<socklen_t>(
      offsetof(sockaddr_un, sun_path) + path.size() + (path[0] == '/'));

  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket(AF_UNIX, SOCK_DGRAM)");
  const ssize_t sent =
      sendto(fd, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT,
             reinterpret_cast<const sockaddr*>(&address), length);
  const int error = errno;
  absl::Status status =
      sent < 0 ? absl::ErrnoToStatus(error, absl::StrCat("send to ", path))
               : absl::OkStatus();
  close(fd);
  return status;
}

void SystemdNotifier::StartWatchdog(std::function<bool()> alive) {
  if (!enabled() || !environment_.watchdog_interval || watchdog_.joinable()) {
    return;
  }
  const absl::Duration interval = *environment_.watchdog_interval;
  watchdog_ = std::thread([this, interval, alive = std::move(alive)] {
    do {
      // A failed ping is not worth a log line every few seconds: systemd
      // restarts the service if pings stop arriving.
      if (alive()) Notify("WATCHDOG=1").IgnoreError();
    } while (!stop_.WaitForNotificationWithTimeout(interval));
  });
}

}  // namespace futured::server
