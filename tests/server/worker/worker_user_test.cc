#include "server/worker/worker_user.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace futured::server {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

TEST(WorkerUserTest, LooksUpAUserAndItsGroups) {
  const passwd* expected = getpwnam("nobody");
  if (expected == nullptr) GTEST_SKIP() << "no user nobody";
  absl::StatusOr<WorkerUser> user = LookUpUser("nobody");
  ASSERT_TRUE(user.ok()) << user.status();
  EXPECT_EQ(user->name, "nobody");
  EXPECT_EQ(user->uid, expected->pw_uid);
  EXPECT_EQ(user->gid, expected->pw_gid);
  EXPECT_THAT(user->groups, Contains(expected->pw_gid));
}

TEST(WorkerUserTest, UnknownUserIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(LookUpUser("no-such-futured-user").status()));
}

TEST(WorkerUserTest, OnlyARootDaemonMayNameAUser) {
  absl::StatusOr<WorkerUser> user =
      CheckWorkerUser("--worker_user", "nobody", /*daemon_euid=*/1000);
  EXPECT_TRUE(absl::IsFailedPrecondition(user.status())) << user.status();
  EXPECT_THAT(user.status().message(),
              HasSubstr("--worker_user needs futured to start as root "
                        "(it runs as uid 1000)"));
}

TEST(WorkerUserTest, UnknownUserOrRootIsInvalidForARootDaemon) {
  absl::StatusOr<WorkerUser> unknown =
      CheckWorkerUser("--worker_user", "no-such-futured-user", 0);
  EXPECT_TRUE(absl::IsInvalidArgument(unknown.status())) << unknown.status();
  EXPECT_THAT(unknown.status().message(),
              HasSubstr("--worker_user: no such user 'no-such-futured-user'"));
  absl::StatusOr<WorkerUser> root = CheckWorkerUser("--worker_user", "root", 0);
  EXPECT_TRUE(absl::IsInvalidArgument(root.status())) << root.status();
}

// In a child process: become nobody, then find that root's powers are gone.
TEST(WorkerUserTest, BecomeUserDropsRootForGood) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  absl::StatusOr<WorkerUser> nobody =
      CheckWorkerUser("--worker_user", "nobody", 0);
  if (!nobody.ok()) GTEST_SKIP() << nobody.status();
  // A file only root may read (mkstemp makes it 0600).
  char secret[] = "/tmp/futured-worker-user-XXXXXX";
  const int secret_fd = mkstemp(secret);
  ASSERT_GE(secret_fd, 0);
  close(secret_fd);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Exit codes: 0 all well; 1 BecomeUser failed; 2 still has root's powers.
    if (!BecomeUser(*nobody).ok()) _exit(1);
    if (getuid() != nobody->uid || geteuid() != nobody->uid) _exit(2);
    if (setgid(0) == 0 || setuid(0) == 0) _exit(2);
    const int fd = open(secret, O_RDONLY);
    if (fd >= 0 || errno != EACCES) _exit(2);
    _exit(0);
  }
  int status = 0;
  const pid_t reaped = waitpid(child, &status, 0);
  unlink(secret);
  ASSERT_EQ(reaped, child);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace futured::server
