#include "server/daemon/systemd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace futured::server {
namespace {

// An abstract datagram socket the notifier can send to; never read unless
// a test does.
class Receiver {
 public:
  Receiver() {
    name_ = absl::StrCat("@futured-notify-unit-", getpid(), "-",
                         reinterpret_cast<uintptr_t>(this));
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, name_.data(), name_.size());
    address.sun_path[0] = '\0';
    bound_ = bind(fd_, reinterpret_cast<const sockaddr*>(&address),
                  offsetof(sockaddr_un, sun_path) + name_.size()) == 0;
  }
  ~Receiver() { close(fd_); }

  bool bound() const { return bound_; }
  const std::string& name() const { return name_; }
  std::string Receive() {
    char buf[256];
    const ssize_t n = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
  }

 private:
  std::string name_;
  int fd_ = -1;
  bool bound_ = false;
};

TEST(TakeNotifyEnvironmentTest, ReadsAndRemovesTheVariables) {
  setenv("NOTIFY_SOCKET", "@x", 1);
  setenv("WATCHDOG_USEC", "3000000", 1);
  setenv("WATCHDOG_PID", std::to_string(getpid()).c_str(), 1);
  absl::StatusOr<NotifyEnvironment> env = TakeNotifyEnvironment();
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->socket, "@x");
  ASSERT_TRUE(env->watchdog_interval.has_value());
  EXPECT_EQ(*env->watchdog_interval, absl::Milliseconds(1500));
  EXPECT_EQ(std::getenv("NOTIFY_SOCKET"), nullptr);
  EXPECT_EQ(std::getenv("WATCHDOG_USEC"), nullptr);
  EXPECT_EQ(std::getenv("WATCHDOG_PID"), nullptr);
}

TEST(TakeNotifyEnvironmentTest, AWatchdogForAnotherProcessIsIgnored) {
  setenv("NOTIFY_SOCKET", "/run/x", 1);
  setenv("WATCHDOG_USEC", "3000000", 1);
  setenv("WATCHDOG_PID", "1", 1);
  absl::StatusOr<NotifyEnvironment> env = TakeNotifyEnvironment();
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_FALSE(env->watchdog_interval.has_value());
}

TEST(TakeNotifyEnvironmentTest, MalformedWatchdogUsecIsAnError) {
  setenv("WATCHDOG_USEC", "soon", 1);
  absl::StatusOr<NotifyEnvironment> env = TakeNotifyEnvironment();
  EXPECT_EQ(env.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SystemdNotifierTest, WithoutASocketNothingIsSent) {
  SystemdNotifier notifier(NotifyEnvironment{});
  EXPECT_FALSE(notifier.enabled());
  EXPECT_TRUE(notifier.Notify("READY=1").ok());
}

TEST(SystemdNotifierTest, SendsToAnAbstractSocket) {
  Receiver receiver;
  ASSERT_TRUE(receiver.bound());
  SystemdNotifier notifier(NotifyEnvironment{.socket = receiver.name()});
  ASSERT_TRUE(notifier.Notify("READY=1\nSTATUS=x").ok());
  EXPECT_EQ(receiver.Receive(), "READY=1\nSTATUS=x");
}

TEST(SystemdNotifierTest, AFullReceiverNeverBlocksTheSender) {
  Receiver receiver;  // never read: its queue fills up
  ASSERT_TRUE(receiver.bound());
  SystemdNotifier notifier(NotifyEnvironment{.socket = receiver.name()});
  bool dropped = false;
  for (int i = 0; i < 10000 && !dropped; ++i) {
    dropped = !notifier.Notify("WATCHDOG=1").ok();
  }
  EXPECT_TRUE(dropped) << "10000 datagrams queued without a reader";
}

TEST(SystemdNotifierTest, ARelativeSocketPathIsRefused) {
  SystemdNotifier notifier(NotifyEnvironment{.socket = "relative/path"});
  EXPECT_EQ(notifier.Notify("READY=1").code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace futured::server
