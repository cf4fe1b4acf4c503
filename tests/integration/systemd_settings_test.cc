// Settings as systemd hands them over from /etc/default/futured (and Docker
// from its environment): FUTURED_<FLAG> variables. A FUTURED_* variable that
// names no flag, a typo or a setting of another version, is named in a
// warning instead of being ignored without a word (issue 19); the variables
// futurectl and the client library read pass quietly.

#include <string>

#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/program_run.h"

namespace futured::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// futured with `env`, on a unix socket it cannot create: it reads its
// settings, then stops at the socket. Its stderr.
std::string StderrOfFutured(std::vector<std::string> env) {
  absl::StatusOr<ProgramResult> result = RunProgram(
      {FUTURED_BINARY, "--listen=unix:/nonexistent/futured-test/sock",
       "--processes=1"},
      {.env = std::move(env), .timeout = absl::Seconds(60)});
  if (!result.ok()) {
    ADD_FAILURE() << result.status();
    return "";
  }
  EXPECT_NE(result->exit_code, 0) << result->err;
  return result->err;
}

TEST(SystemdSettingsTest, WarnsOfEachVariableThatNamesNoFlag) {
  const std::string err =
      StderrOfFutured({"FUTURED_THREDS=3", "FUTURED_STATEDIR=/var/lib/futured",
                       "FUTURED_THREADS=2", "FUTURED_SHUTDOWN_GRACE=5s"});
  EXPECT_THAT(err, HasSubstr("WARNING environment variable FUTURED_THREDS "
                             "names no flag of futured"));
  EXPECT_THAT(err, HasSubstr("WARNING environment variable FUTURED_STATEDIR "
                             "names no flag of futured"));
  EXPECT_THAT(err, Not(HasSubstr("FUTURED_THREADS"))) << err;
  EXPECT_THAT(err, Not(HasSubstr("FUTURED_SHUTDOWN_GRACE"))) << err;
}

TEST(SystemdSettingsTest, ClientVariablesPass) {
  const std::string err = StderrOfFutured(
      {"FUTURED_TARGET=127.0.0.1:50051", "FUTURED_TOKEN=secret",
       "FUTURED_TOKEN_FILE=/dev/null", "FUTURED_TLS_CA=/dev/null"});
  EXPECT_THAT(err, Not(HasSubstr("names no flag"))) << err;
}

}  // namespace
}  // namespace futured::testing
