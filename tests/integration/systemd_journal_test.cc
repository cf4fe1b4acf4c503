// futured's stderr as systemd's journal sees it: with $JOURNAL_STREAM naming
// stderr, every line, gRPC's own included, starts with its syslog priority
// "<N>", so that `journalctl -p err -u futured` shows gRPC's errors (issue
// 19); --log_level applies to gRPC's lines too.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/program_run.h"

namespace futured::testing {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::MatchesRegex;
using ::testing::Not;

// A loopback TCP port held, listening, by this test (without SO_REUSEPORT,
// so gRPC cannot bind it), until destroyed.
class TakenPort {
 public:
  TakenPort() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{.sin_family = AF_INET,
                        .sin_port = 0,
                        .sin_addr = {.s_addr = htonl(INADDR_LOOPBACK)},
                        .sin_zero = {}};
    socklen_t length = sizeof(address);
    if (fd_ < 0 ||
        bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
        listen(fd_, 1) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      return;
    }
    port_ = ntohs(address.sin_port);
  }
  ~TakenPort() {
    if (fd_ >= 0) close(fd_);
  }
  TakenPort(const TakenPort&) = delete;
  TakenPort& operator=(const TakenPort&) = delete;

  int port() const { return port_; }  // 0 if it could not be taken

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Runs futured with `flags`, its stderr a fresh file that $JOURNAL_STREAM
// names (as systemd's journal stream does: "device:inode"), and returns the
// file's lines.
std::vector<std::string> JournalLinesOfFutured(std::vector<std::string> flags) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            absl::StrCat("futured-journal-", getpid()))
                               .string();
  const absl::Cleanup remove = [&] { std::filesystem::remove(path); };
  std::ofstream(path).flush();
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    ADD_FAILURE() << "cannot create " << path;
    return {};
  }
  // The shell only points stderr at the file; futured replaces it (exec).
  std::vector<std::string> argv = {"/bin/sh", "-c",
                                   "exec \"$0\" \"$@\" 2>>\"$JOURNAL_FILE\"",
                                   FUTURED_BINARY};
  argv.insert(argv.end(), flags.begin(), flags.end());
  absl::StatusOr<ProgramResult> result = RunProgram(
      argv, {.env = {absl::StrCat("JOURNAL_STREAM=", st.st_dev, ":", st.st_ino),
                     absl::StrCat("JOURNAL_FILE=", path)},
             .timeout = absl::Seconds(60)});
  if (!result.ok()) {
    ADD_FAILURE() << result.status();
    return {};
  }
  EXPECT_NE(result->exit_code, 0) << "futured served on a taken port";
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  return Lines(text.str());
}

TEST(SystemdJournalTest, GrpcErrorsReachTheJournalAsErrors) {
  TakenPort taken;
  ASSERT_NE(taken.port(), 0);
  const std::vector<std::string> lines = JournalLinesOfFutured(
      {absl::StrCat("--listen=127.0.0.1:", taken.port()), "--processes=1"});
  ASSERT_THAT(lines, Not(IsEmpty()));
  for (const std::string& line : lines) {
    EXPECT_THAT(line, MatchesRegex("<[0-7]>.*")) << "a line without priority";
  }
  // gRPC's own line about the failed bind, at priority 3 (err), and
  // futured's.
  EXPECT_THAT(lines, Contains(MatchesRegex("<3>grpc: .*\\(chttp2_server\\.cc:"
                                           "[0-9]+\\)")));
  EXPECT_THAT(lines, Contains(MatchesRegex("<3>[^g].*")));
}

TEST(SystemdJournalTest, LogLevelAppliesToGrpcLines) {
  TakenPort taken;
  ASSERT_NE(taken.port(), 0);
  // At debug, gRPC says more than its error (its start-up details, at
  // priority 7); at info, not that; at error, nothing but errors.
  const std::vector<std::string> debug =
      JournalLinesOfFutured({absl::StrCat("--listen=127.0.0.1:", taken.port()),
                             "--processes=1", "--log_level=debug"});
  EXPECT_THAT(debug, Contains(MatchesRegex("<7>grpc: .*")));
  const std::vector<std::string> info = JournalLinesOfFutured(
      {absl::StrCat("--listen=127.0.0.1:", taken.port()), "--processes=1"});
  EXPECT_THAT(info, Not(Contains(MatchesRegex("<[67]>grpc: .*"))));
  const std::vector<std::string> errors =
      JournalLinesOfFutured({absl::StrCat("--listen=127.0.0.1:", taken.port()),
                             "--processes=1", "--log_level=error"});
  ASSERT_THAT(errors, Contains(MatchesRegex("<3>grpc: .*")));
  for (const std::string& line : errors) {
    EXPECT_THAT(line, MatchesRegex("<3>.*"));
  }
}

}  // namespace
}  // namespace futured::testing
