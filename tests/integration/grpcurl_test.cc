// The real grpcurl against the real daemon, as the README uses it: list,
// describe, Health/Check, Submit and Result, with and without
// --auth_tokens_file. grpcurl is not in Debian 12: the test finds it through
// the GRPCURL environment variable or the FUTURED_GRPCURL CMake option (a
// path) and is skipped without it. reflection_test.cc makes the same calls
// in C++ and always runs.

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/program_run.h"
#include "tests/integration/temp_dir.h"

namespace futured::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kToken[] = "grpcurl-test-token-0123456789";

// The grpcurl binary, or "" when there is none.
std::string GrpcurlPath() {
  const char* from_env = std::getenv("GRPCURL");
  std::string path = from_env != nullptr ? from_env : FUTURED_GRPCURL;
  if (path.empty() || access(path.c_str(), X_OK) != 0) return "";
  return path;
}

class GrpcurlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpcurl_ = GrpcurlPath();
    if (grpcurl_.empty()) {
      GTEST_SKIP() << "no grpcurl: set GRPCURL=/path/to/grpcurl or "
                      "-DFUTURED_GRPCURL=/path/to/grpcurl";
    }
  }
  void StartDaemon(std::vector<std::string> flags) {
    absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
        DaemonProcess::Start({.flags = std::move(flags)});
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
  }
  void TearDown() override {
    if (daemon_ == nullptr) return;
    absl::StatusOr<int> wait_status = daemon_->Stop(SIGTERM);
    ASSERT_TRUE(wait_status.ok()) << wait_status.status();
    EXPECT_TRUE(WIFEXITED(*wait_status) && WEXITSTATUS(*wait_status) == 0);
  }
  // grpcurl -plaintext [options...] <daemon> [args...]
  ProgramResult Grpcurl(std::vector<std::string> options,
                        std::vector<std::string> args) {
    std::vector<std::string> argv = {grpcurl_, "-plaintext"};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back(daemon_->address());
    argv.insert(argv.end(), args.begin(), args.end());
    absl::StatusOr<ProgramResult> result = RunProgram(argv);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.value_or(ProgramResult());
  }
  // The value of "id" in grpcurl's printed SubmitResponse.
  static std::string IdOf(const std::string& json) {
    const std::string key = "\"id\": \"";
    const size_t start = json.find(key);
    if (start == std::string::npos) return "";
    const size_t end = json.find('"', start + key.size());
    return json.substr(start + key.size(), end - start - key.size());
  }

  std::string grpcurl_;
  std::unique_ptr<DaemonProcess> daemon_;
};

TEST_F(GrpcurlTest, ReadmeSessionWorks) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon({}));
  ProgramResult list = Grpcurl({}, {"list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("futured.v1.Executor"));
  EXPECT_THAT(list.out, HasSubstr("grpc.health.v1.Health"));

  ProgramResult describe = Grpcurl({}, {"describe", "grpc.health.v1.Health"});
  EXPECT_EQ(describe.exit_code, 0) << describe.err;
  EXPECT_THAT(describe.out, HasSubstr("rpc Check"));

  ProgramResult check = Grpcurl({}, {"grpc.health.v1.Health/Check"});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_THAT(check.out, HasSubstr("\"status\": \"SERVING\""));

  ProgramResult submit = Grpcurl({"-d", R"({"function":"square","args":[7]})"},
                                 {"futured.v1.Executor/Submit"});
  EXPECT_EQ(submit.exit_code, 0) << submit.err;
  const std::string id = IdOf(submit.out);
  ASSERT_FALSE(id.empty()) << submit.out;
  ProgramResult result =
      Grpcurl({"-d", absl::StrCat(R"({"id":")", id, R"(","timeout":"10s"})")},
              {"futured.v1.Executor/Result"});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_THAT(result.out, HasSubstr("\"value\": 49"));
  EXPECT_THAT(result.out, HasSubstr("\"submit_time\": "));
}

TEST_F(GrpcurlTest, WithTokensHealthAndReflectionNeedNone) {
  TempDir dir;
  const std::string tokens =
      dir.Write("tokens", absl::StrCat("tester ", kToken, "\n"));
  ASSERT_NO_FATAL_FAILURE(StartDaemon({"--auth_tokens_file=" + tokens}));
  ProgramResult check = Grpcurl({}, {"grpc.health.v1.Health/Check"});
  EXPECT_EQ(check.exit_code, 0) << check.err;
  EXPECT_THAT(check.out, HasSubstr("\"status\": \"SERVING\""));
  ProgramResult list = Grpcurl({}, {"list"});
  EXPECT_EQ(list.exit_code, 0) << list.err;

  const std::string square = R"({"function":"square","args":[7]})";
  ProgramResult refused =
      Grpcurl({"-d", square}, {"futured.v1.Executor/Submit"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("Unauthenticated"));
  ProgramResult submit = Grpcurl(
      {"-H", absl::StrCat("authorization: Bearer ", kToken), "-d", square},
      {"futured.v1.Executor/Submit"});
  EXPECT_EQ(submit.exit_code, 0) << submit.err;
  EXPECT_FALSE(IdOf(submit.out).empty()) << submit.out;
}

}  // namespace
}  // namespace futured::testing
