// --worker_user: a daemon started as root runs its process pools' workers as
// another user. Needs root; each test skips otherwise.
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_test.h"
#include "tests/integration/program_run.h"

namespace futured::testing {
namespace {

using ::futured::v1::FutureInfo;
using ::futured::v1::SubmitRequest;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kUser[] = "nobody";

// The four IDs (real, effective, saved, filesystem) of a /proc/<pid>/status
// line such as "Uid:\t65534\t65534\t65534\t65534", or nothing.
std::vector<int64_t> StatusIds(pid_t pid, absl::string_view key) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::vector<int64_t> ids;
  for (std::string line; std::getline(status, line);) {
    if (!absl::StartsWith(line, absl::StrCat(key, ":"))) continue;
    for (absl::string_view field :
         absl::StrSplit(line.substr(key.size() + 1), '\t', absl::SkipEmpty())) {
      int64_t id = 0;
      if (absl::SimpleAtoi(field, &id)) ids.push_back(id);
    }
  }
  return ids;
}

// A file in a fresh temporary directory that only root may read (0600).
class RootOnlyFile {
 public:
  RootOnlyFile() {
    std::string dir =
        (std::filesystem::temp_directory_path() / "futured-user-XXXXXX")
            .string();
    if (mkdtemp(dir.data()) != nullptr) dir_ = dir;
    chmod(dir_.c_str(), 0755);
    path_ = absl::StrCat(dir_, "/secret");
    std::ofstream(path_) << "abc";
    chmod(path_.c_str(), 0600);
  }
  ~RootOnlyFile() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

class WorkerUserTest : public DaemonTest {
 protected:
  void SetUp() override {
    if (geteuid() != 0)
      GTEST_SKIP() << "needs root to start workers as " << kUser;
    const passwd* user = getpwnam(kUser);
    if (user == nullptr) GTEST_SKIP() << "no user " << kUser;
    uid_ = user->pw_uid;
    gid_ = user->pw_gid;
  }

  static SubmitRequest InPool(SubmitRequest request, const std::string& pool) {
    request.set_pool(pool);
    return request;
  }

  static SubmitRequest Sha256Of(const std::string& path,
                                const std::string& pool) {
    SubmitRequest request = InPool(CallOf("hash.sha256"), pool);
    (*request.mutable_kwargs()->mutable_fields())["path"] = StringValue(path);
    return request;
  }

  int64_t uid_ = -1;
  int64_t gid_ = -1;
};

TEST_F(WorkerUserTest, WorkersRunAsTheUserAndLoseRootsAccess) {
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon(false, {absl::StrCat("--worker_user=", kUser),
                          "--processes=1", "--pools=more:process:1"}));
  for (const std::string pool : {"process", "more"}) {
    const FutureInfo pid = MustResult(MustSubmit(InPool(CallOf("pid"), pool)));
    ASSERT_TRUE(pid.outcome().has_value()) << pid.ShortDebugString();
    const pid_t worker =
        static_cast<pid_t>(pid.outcome().value().number_value());
    EXPECT_EQ(worker, pid.worker_pid());
    EXPECT_NE(worker, daemon_->pid());
    EXPECT_THAT(StatusIds(worker, "Uid"), ElementsAre(uid_, uid_, uid_, uid_))
        << pool;
    EXPECT_THAT(StatusIds(worker, "Gid"), ElementsAre(gid_, gid_, gid_, gid_))
        << pool;
  }
  // The daemon itself stays root.
  EXPECT_THAT(StatusIds(daemon_->pid(), "Uid"), ElementsAre(0, 0, 0, 0));

  // A file only root may read: the daemon's thread pool (root) hashes it,
  // the worker gets PermissionError.
  RootOnlyFile secret;
  const FutureInfo as_root =
      MustResult(MustSubmit(Sha256Of(secret.path(), "thread")));
  EXPECT_TRUE(as_root.outcome().has_value()) << as_root.ShortDebugString();
  const FutureInfo as_user =
      MustResult(MustSubmit(Sha256Of(secret.path(), "process")));
  ASSERT_TRUE(as_user.outcome().has_error()) << as_user.ShortDebugString();
  EXPECT_EQ(as_user.outcome().error().type(), "PermissionError");
}

// Runs futured to its (quick) end: a refused setting.
ProgramResult RunFutured(std::vector<std::string> args) {
  args.insert(args.begin(), FUTURED_BINARY);
  absl::StatusOr<ProgramResult> result =
      RunProgram(args, {.timeout = absl::Seconds(60)});
  EXPECT_TRUE(result.ok()) << result.status();
  return result.value_or(ProgramResult());
}

TEST_F(WorkerUserTest, AnUnknownUserOrRootIsRefused) {
  ProgramResult unknown = RunFutured(
      {"--listen=127.0.0.1:0", "--worker_user=no-such-futured-user"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err,
              HasSubstr("--worker_user: no such user 'no-such-futured-user'"));

  ProgramResult root =
      RunFutured({"--listen=127.0.0.1:0", "--worker_user=root"});
  EXPECT_EQ(root.exit_code, 1);
  EXPECT_THAT(root.err, HasSubstr("is root (uid 0)"));
}

// Without --worker_user a daemon started as root warns that its workers run
// as root too (seen on a start that then fails at the metrics address).
TEST_F(WorkerUserTest, RootWithoutTheFlagIsWarnedAbout) {
  ProgramResult without =
      RunFutured({"--listen=127.0.0.1:0", "--metrics_listen=nonsense"});
  EXPECT_NE(without.exit_code, 0);
  EXPECT_THAT(without.err, HasSubstr("give --worker_user=NAME"));

  ProgramResult with =
      RunFutured({"--listen=127.0.0.1:0", "--metrics_listen=nonsense",
                  absl::StrCat("--worker_user=", kUser)});
  EXPECT_NE(with.exit_code, 0);
  EXPECT_THAT(with.err, Not(HasSubstr("give --worker_user=NAME")));
}

}  // namespace
}  // namespace futured::testing
