// The test harness itself: DaemonProcess starts, reaches, stops and cleans
// up the real futured, and leaks no descriptor into it.
#include "tests/integration/daemon_process.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gtest/gtest.h"
#include "tests/integration/executor_calls.h"

namespace futured::testing {
namespace {

std::unique_ptr<DaemonProcess> MustStart(DaemonProcess::Options options) {
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start(std::move(options));
  EXPECT_TRUE(daemon.ok()) << daemon.status();
  return daemon.ok() ? *std::move(daemon) : nullptr;
}

void ExpectServes(const DaemonProcess& daemon) {
  ExecutorCalls calls(daemon.NewChannel());
  futured::v1::GetStatsResponse stats;
  grpc::Status status = calls.GetStats(&stats);
  EXPECT_TRUE(status.ok()) << daemon.address() << ": " << StatusText(status);
}

void ExpectExitsZeroOnSigterm(DaemonProcess& daemon) {
  absl::StatusOr<int> wait_status = daemon.Stop(SIGTERM);
  ASSERT_TRUE(wait_status.ok()) << wait_status.status();
  EXPECT_TRUE(WIFEXITED(*wait_status)) << "wait status " << *wait_status;
  EXPECT_EQ(WEXITSTATUS(*wait_status), 0);
}

TEST(DaemonProcessTest, ServesOnLoopbackAndExitsZeroOnSigterm) {
  std::unique_ptr<DaemonProcess> daemon = MustStart({});
  ASSERT_NE(daemon, nullptr);
  EXPECT_TRUE(absl::StartsWith(daemon->address(), "127.0.0.1:"))
      << daemon->address();
  EXPECT_GT(daemon->pid(), 0);
  ExpectServes(*daemon);
  ExpectExitsZeroOnSigterm(*daemon);

  absl::StatusOr<int> again = daemon->Stop();
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition)
      << again.status();
}

TEST(DaemonProcessTest, ServesOnAUnixSocketInAPrivateDirectoryItRemoves) {
  std::filesystem::path dir;
  {
    std::unique_ptr<DaemonProcess> daemon =
        MustStart({.unix_socket = true, .flags = {}});
    ASSERT_NE(daemon, nullptr);
    absl::string_view path = daemon->address();
    ASSERT_TRUE(absl::ConsumePrefix(&path, "unix:")) << daemon->address();
    const std::filesystem::path socket{std::string(path)};
    dir = socket.parent_path();
    std::error_code error;
    EXPECT_TRUE(std::filesystem::is_socket(socket, error)) << socket;
    struct stat dir_stat;
    ASSERT_EQ(stat(dir.c_str(), &dir_stat), 0) << dir;
    EXPECT_EQ(dir_stat.st_mode & 0777, 0700u) << dir;
    ExpectServes(*daemon);
    ExpectExitsZeroOnSigterm(*daemon);
  }
  std::error_code error;
  EXPECT_FALSE(std::filesystem::exists(dir, error)) << dir;
}

TEST(DaemonProcessTest, DestructorKillsAndReapsARunningDaemon) {
  std::unique_ptr<DaemonProcess> daemon =
      MustStart({.unix_socket = true, .flags = {}});
  ASSERT_NE(daemon, nullptr);
  const pid_t pid = daemon->pid();
  daemon.reset();
  // Reaped: it is no longer our child at all.
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(DaemonProcessTest, StopReportsDeathBySignal) {
  std::unique_ptr<DaemonProcess> daemon = MustStart({});
  ASSERT_NE(daemon, nullptr);
  absl::StatusOr<int> wait_status = daemon->Stop(SIGKILL);
  ASSERT_TRUE(wait_status.ok()) << wait_status.status();
  EXPECT_TRUE(WIFSIGNALED(*wait_status)) << "wait status " << *wait_status;
  EXPECT_EQ(WTERMSIG(*wait_status), SIGKILL);
}

TEST(DaemonProcessTest, StartFailsWithTheExitStatusOfADaemonThatDied) {
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon = DaemonProcess::Start(
      {.unix_socket = false, .flags = {"--no_such_flag_for_futured=1"}});
  ASSERT_FALSE(daemon.ok());
  EXPECT_TRUE(absl::StrContains(daemon.status().message(), "exited with"))
      << daemon.status();
}

TEST(DaemonProcessTest, NoDescriptorLeaksIntoTheDaemon) {
  // A descriptor this process holds without O_CLOEXEC, as a careless
  // library might.
  const std::filesystem::path marker = std::filesystem::temp_directory_path() /
                                       absl::StrCat("futured-it-fd-", getpid());
  const int leaky_fd = open(marker.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  ASSERT_GE(leaky_fd, 0) << marker;

  std::unique_ptr<DaemonProcess> daemon =
      MustStart({.unix_socket = true, .flags = {}});
  if (daemon != nullptr) {
    const std::filesystem::path fds =
        std::filesystem::path("/proc") / std::to_string(daemon->pid()) / "fd";
    std::error_code error;
    int count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(fds, error)) {
      ++count;
      std::error_code link_error;
      const std::filesystem::path target =
          std::filesystem::read_symlink(entry.path(), link_error);
      EXPECT_NE(target, marker) << "leaked into futured as " << entry.path();
    }
    EXPECT_FALSE(error) << fds << ": " << error.message();
    EXPECT_GE(count, 3) << "could not list " << fds;
    ExpectExitsZeroOnSigterm(*daemon);
  }
  close(leaky_fd);
  std::filesystem::remove(marker);
}

}  // namespace
}  // namespace futured::testing
