// The test plays systemd for a Type=notify service: it gives futured a
// NOTIFY_SOCKET of its own and checks what arrives there and when: READY=1
// only once futured answers calls, WATCHDOG=1 when WATCHDOG_USEC is set, and
// STOPPING=1 on SIGTERM while futured is still winding down.

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "futured/v1/executor.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/executor_calls.h"

namespace futured::testing {
namespace {

constexpr absl::Duration kMessageTimeout = absl::Seconds(30);

// A datagram socket bound where the daemon's $NOTIFY_SOCKET points: a path
// in a fresh directory, or an abstract name ("@..."). Owned by one test.
class NotifySocket {
 public:
  static absl::StatusOr<std::unique_ptr<NotifySocket>> Bind(bool abstract) {
    std::unique_ptr<NotifySocket> s(new NotifySocket());
    s->fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s->fd_ < 0) return absl::InternalError(std::strerror(errno));
    if (abstract) {
      s->name_ = absl::StrCat("@futured-notify-test-", getpid(), "-",
                              absl::ToUnixNanos(absl::Now()));
    } else {
      std::string dir =
          (std::filesystem::temp_directory_path() / "futured-notify-XXXXXX")
              .string();
      if (mkdtemp(dir.data()) == nullptr) {
        return absl::InternalError(std::strerror(errno));
      }
      s->dir_ = dir;
      s->name_ = absl::StrCat(dir, "/notify");
    }
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, s->name_.data(), s->name_.size());
    if (abstract) address.sun_path[0] = '\0';
    const socklen_t length = static_cast<socklen_t>(
        offsetof(sockaddr_un, sun_path) + s->name_.size() + (abstract ? 0 : 1));
    if (bind(s->fd_, reinterpret_cast<const sockaddr*>(&address), length) !=
        0) {
      return absl::InternalError(
          absl::StrCat("bind ", s->name_, ": ", std::strerror(errno)));
    }
    return s;
  }

  ~NotifySocket() {
    if (fd_ >= 0) close(fd_);
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // "NOTIFY_SOCKET=<name>", for the daemon's environment.
  std::string Variable() const { return absl::StrCat("NOTIFY_SOCKET=", name_); }

  // The next datagram, waiting at most `timeout`.
  absl::StatusOr<std::string> Receive(
      absl::Duration timeout = kMessageTimeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (true) {
      pollfd pfd = {.fd = fd_, .events = POLLIN, .revents = 0};
      const int left = static_cast<int>(std::max<int64_t>(
          0, absl::ToInt64Milliseconds(deadline - absl::Now())));
      const int n = poll(&pfd, 1, left);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return absl::InternalError(std::strerror(errno));
      if (n == 0) {
        return absl::DeadlineExceededError(absl::StrCat(
            "no notification within ", absl::FormatDuration(timeout)));
      }
      char buf[4096];
      const ssize_t size = recv(fd_, buf, sizeof(buf), 0);
      if (size < 0) return absl::InternalError(std::strerror(errno));
      return std::string(buf, static_cast<size_t>(size));
    }
  }

  // Receives until a datagram has the line `line` ("READY=1"), at most
  // `max_messages` of them; returns that datagram.
  absl::StatusOr<std::string> ReceiveLine(absl::string_view line,
                                          int max_messages = 1000) {
    for (int i = 0; i < max_messages; ++i) {
      absl::StatusOr<std::string> message = Receive();
      if (!message.ok()) return message.status();
      for (absl::string_view l : absl::StrSplit(*message, '\n')) {
        if (l == line) return message;
      }
    }
    return absl::NotFoundError(
        absl::StrCat(line, " not among ", max_messages, " notifications"));
  }

 private:
  NotifySocket() = default;

  int fd_ = -1;
  std::string name_;
  std::string dir_;
};

bool HasLine(absl::string_view message, absl::string_view line) {
  for (absl::string_view l : absl::StrSplit(message, '\n')) {
    if (l == line) return true;
  }
  return false;
}

// Readiness learnt from systemd's side only: the daemon is started without
// waiting for its listening line, and a call made right after READY=1
// (without waiting for the channel to connect) must succeed.
TEST(SystemdNotifyTest, ReadyArrivesOnlyOnceCallsAreAnswered) {
  absl::StatusOr<std::unique_ptr<NotifySocket>> notify =
      NotifySocket::Bind(/*abstract=*/true);
  ASSERT_TRUE(notify.ok()) << notify.status();
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start({.unix_socket = true,
                            .flags = {},
                            .env = {(*notify)->Variable()},
                            .wait_until_serving = false});
  ASSERT_TRUE(daemon.ok()) << daemon.status();

  absl::StatusOr<std::string> ready = (*notify)->ReceiveLine("READY=1");
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_TRUE(absl::StrContains(*ready, "STATUS=serving on unix:")) << *ready;

  ExecutorCalls calls((*daemon)->NewChannel());
  v1::GetStatsResponse stats;
  grpc::Status status = calls.GetStats(&stats);
  EXPECT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(stats.pools_size(), 2);

  absl::StatusOr<int> exit = (*daemon)->Stop(SIGTERM);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << *exit;
}

TEST(SystemdNotifyTest, WatchdogPingsAndStoppingComesBeforeExit) {
  absl::StatusOr<std::unique_ptr<NotifySocket>> notify =
      NotifySocket::Bind(/*abstract=*/false);
  ASSERT_TRUE(notify.ok()) << notify.status();
  // 200 ms: the daemon pings every 100 ms.
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon = DaemonProcess::Start(
      {.flags = {"--shutdown_grace=5s"},
       .env = {(*notify)->Variable(), "WATCHDOG_USEC=200000"}});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  ASSERT_TRUE((*notify)->ReceiveLine("READY=1").ok());
  for (int ping = 0; ping < 3; ++ping) {
    absl::StatusOr<std::string> message = (*notify)->ReceiveLine("WATCHDOG=1");
    ASSERT_TRUE(message.ok()) << "ping " << ping << ": " << message.status();
  }

  // A running task keeps the daemon in its grace period after SIGTERM, and
  // a Result call on it stays unanswered until the grace is over.
  ExecutorCalls calls((*daemon)->NewChannel());
  std::string id;
  ASSERT_TRUE(calls.Submit(CallOf("sleep", {NumberValue(3600)}), &id).ok());
  ASSERT_TRUE(calls.AwaitState(id, v1::FUTURE_STATE_RUNNING).ok());
  v1::ResultRequest request;
  request.set_id(id);
  grpc::ClientContext context;
  SetDeadline(&context);
  v1::FutureInfo info;
  grpc::Status result_status;
  absl::Notification answered;
  calls.stub().async()->Result(&context, &request, &info, [&](grpc::Status s) {
    result_status = std::move(s);
    answered.Notify();
  });

  ASSERT_EQ(kill((*daemon)->pid(), SIGTERM), 0);
  absl::StatusOr<std::string> stopping = (*notify)->ReceiveLine("STOPPING=1");
  ASSERT_TRUE(stopping.ok()) << stopping.status();
  EXPECT_FALSE(answered.HasBeenNotified())
      << "the running task's Result was answered before STOPPING=1";
  EXPECT_FALSE(HasLine(*stopping, "READY=1")) << *stopping;

  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(60)));
  // The stop cut the task short: with the journal that is not its end (it
  // comes back as interrupted after a restart), so the call is told to try
  // again later.
  EXPECT_EQ(result_status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << StatusText(result_status);
  EXPECT_EQ(result_status.error_message(), "futured is shutting down");
  absl::StatusOr<int> exit = (*daemon)->Stop(SIGTERM);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << *exit;
}

TEST(SystemdNotifyTest, NoWatchdogPingsWithoutWatchdogUsec) {
  absl::StatusOr<std::unique_ptr<NotifySocket>> notify =
      NotifySocket::Bind(/*abstract=*/true);
  ASSERT_TRUE(notify.ok()) << notify.status();
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start({.flags = {}, .env = {(*notify)->Variable()}});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  absl::StatusOr<std::string> ready = (*notify)->Receive();
  ASSERT_TRUE(ready.ok()) << ready.status();
  EXPECT_TRUE(HasLine(*ready, "READY=1")) << *ready;
  // The next notification after READY is STOPPING, nothing in between.
  absl::StatusOr<int> exit = (*daemon)->Stop(SIGTERM);
  ASSERT_TRUE(exit.ok()) << exit.status();
  absl::StatusOr<std::string> next = (*notify)->Receive();
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(HasLine(*next, "STOPPING=1")) << *next;
}

}  // namespace
}  // namespace futured::testing
