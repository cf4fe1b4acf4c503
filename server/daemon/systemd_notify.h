// systemd's service notification protocol (sd_notify(3)) without libsystemd:
// READY=1, STOPPING=1 and WATCHDOG=1 as datagrams to $NOTIFY_SOCKET.
#ifndef FUTURED_SERVER_DAEMON_SYSTEMD_NOTIFY_H_
#define FUTURED_SERVER_DAEMON_SYSTEMD_NOTIFY_H_

#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace futured::server {

// Where and how often to notify the service manager, read from the
// environment systemd gives a Type=notify service.
struct NotifyEnvironment {
  std::string socket = {};  // $NOTIFY_SOCKET: a path, or "@name" (abstract)
  // Half of $WATCHDOG_USEC when set (and $WATCHDOG_PID, if set, is us), as
  // sd_watchdog_enabled(3) advises; unset otherwise.
  std::optional<absl::Duration> watchdog_interval = {};
};

// Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID and removes them from
// the environment, so that worker processes do not notify in the daemon's
// name. Unset socket when not started by systemd. INVALID_ARGUMENT for a
// malformed WATCHDOG_USEC. Call once, before any thread starts.
absl::StatusOr<NotifyEnvironment> TakeNotifyEnvironment();

// Talks to the service manager for the daemon. Without a socket every call
// does nothing, so the daemon runs the same outside systemd. Notify() may be
// called from any thread; the watchdog thread, if any, is owned and joined
// by the destructor.
class SystemdNotifier {
 public:
  explicit SystemdNotifier(NotifyEnvironment environment);
  ~SystemdNotifier();  // stops the watchdog thread
  SystemdNotifier(const SystemdNotifier&) = delete;
  SystemdNotifier& operator=(const SystemdNotifier&) = delete;

  // Sends `state` (e.g. "READY=1\nSTATUS=serving") as one datagram. Never
  // blocks: when the receiver's queue is full the datagram is dropped
  // (UNAVAILABLE). OK without a socket.
  absl::Status Notify(absl::string_view state) const;

  // Starts a thread that, every interval until destruction, calls `alive`
  // and sends WATCHDOG=1 if it returns true; a daemon whose probe hangs or
  // fails stops pinging and systemd restarts it. No-op when the watchdog is
  // off. Call once, after READY=1; `alive` runs on the watchdog thread.
  void StartWatchdog(std::function<bool()> alive);

  bool enabled() const { return !environment_.socket.empty(); }

 private:
  const NotifyEnvironment environment_;
  absl::Notification stop_;
  std::thread watchdog_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_DAEMON_SYSTEMD_NOTIFY_H_
