// packaging/systemd/futured.service passes `systemd-analyze verify` (the
// build-tree copy, whose ExecStart is the futured just built) and keeps the
// directives the daemon's shutdown and readiness rely on.

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/program_run.h"

namespace futured::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kSystemdAnalyze[] = "/usr/bin/systemd-analyze";

std::string ReadUnit() {
  std::ifstream in(FUTURED_SYSTEMD_TEST_UNIT);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(SystemdUnitTest, VerifiesCleanly) {
  if (access(kSystemdAnalyze, X_OK) != 0) {
    GTEST_SKIP() << kSystemdAnalyze << " is not installed (package systemd)";
  }
  absl::StatusOr<ProgramResult> result =
      RunProgram({kSystemdAnalyze, "verify", FUTURED_SYSTEMD_TEST_UNIT});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0) << result->err;
  // verify only warns, exit status 0, about a directive it ignores.
  EXPECT_THAT(result->err, Not(HasSubstr("futured.service"))) << result->err;
}

TEST(SystemdUnitTest, NotifiesAndLetsTheDaemonStopItsWorkers) {
  const std::string unit = ReadUnit();
  ASSERT_FALSE(unit.empty()) << FUTURED_SYSTEMD_TEST_UNIT;
  for (const char* directive :
       {"Type=notify\n", "WatchdogSec=", "KillMode=mixed\n",
        "DynamicUser=yes\n", "NoNewPrivileges=yes\n", "ProtectSystem=strict\n",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n"}) {
    EXPECT_THAT(unit, HasSubstr(directive));
  }
  EXPECT_THAT(unit, HasSubstr(absl::StrCat("ExecStart=", FUTURED_BINARY)));
}

}  // namespace
}  // namespace futured::testing
