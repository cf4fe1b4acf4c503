// futured's configuration as an operator meets it: flags, FUTURED_*
// environment variables and a --flagfile with command line > environment >
// flagfile > default; bad values refused at start naming the setting and
// where it came from; --help and --version.

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/executor_calls.h"
#include "tests/integration/program_run.h"

namespace futured::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A flagfile in a fresh temporary directory, removed at the end.
class Flagfile {
 public:
  explicit Flagfile(const std::string& text) {
    std::string dir =
        (std::filesystem::temp_directory_path() / "futured-config-XXXXXX")
            .string();
    if (mkdtemp(dir.data()) != nullptr) dir_ = dir;
    path_ = absl::StrCat(dir_, "/futured.flags");
    std::ofstream(path_) << text;
  }
  ~Flagfile() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string Flag() const { return absl::StrCat("--flagfile=", path_); }

 private:
  std::string dir_;
  std::string path_;
};

// The thread pool's worker count of a daemon started with `flags` and `env`.
int ThreadWorkers(std::vector<std::string> flags,
                  std::vector<std::string> env) {
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start({.flags = std::move(flags), .env = std::move(env)});
  if (!daemon.ok()) {
    ADD_FAILURE() << daemon.status();
    return -1;
  }
  ExecutorCalls calls((*daemon)->NewChannel());
  v1::GetStatsResponse stats;
  grpc::Status status = calls.GetStats(&stats);
  EXPECT_TRUE(status.ok()) << StatusText(status);
  int workers = -1;
  for (const v1::PoolStats& pool : stats.pools()) {
    if (pool.name() == "thread") workers = static_cast<int>(pool.workers());
  }
  absl::StatusOr<int> exit = (*daemon)->Stop(SIGTERM);
  EXPECT_TRUE(exit.ok() && WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0);
  return workers;
}

// Runs futured to its (quick) end: a refused setting, --help or --version.
ProgramResult RunFutured(std::vector<std::string> args,
                         std::vector<std::string> env = {}) {
  args.insert(args.begin(), FUTURED_BINARY);
  absl::StatusOr<ProgramResult> result =
      RunProgram(args, {.env = std::move(env), .timeout = absl::Seconds(60)});
  EXPECT_TRUE(result.ok()) << result.status();
  return result.value_or(ProgramResult());
}

TEST(ConfigTest, PrecedenceIsCommandLineEnvironmentFlagfileDefault) {
  Flagfile file("--threads=3\n");
  EXPECT_EQ(ThreadWorkers({file.Flag()}, {}), 3);
  EXPECT_EQ(ThreadWorkers({file.Flag()}, {"FUTURED_THREADS=5"}), 5);
  EXPECT_EQ(ThreadWorkers({file.Flag(), "--threads=7"}, {"FUTURED_THREADS=5"}),
            7);
  EXPECT_EQ(ThreadWorkers({"--threads", "2"}, {"FUTURED_THREADS=5"}), 2);
}

TEST(ConfigTest, ListenFromTheEnvironment) {
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start({.flags = {},
                            .env = {"FUTURED_LISTEN=127.0.0.1:0"},
                            .add_listen_flag = false});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  EXPECT_TRUE(absl::StartsWith((*daemon)->address(), "127.0.0.1:"));
  absl::StatusOr<int> exit = (*daemon)->Stop(SIGTERM);
  ASSERT_TRUE(exit.ok()) << exit.status();
}

TEST(ConfigTest, BadValuesAreRefusedNamingTheSettingAndItsSource) {
  ProgramResult env = RunFutured({}, {"FUTURED_THREADS=0"});
  EXPECT_NE(env.exit_code, 0);
  EXPECT_THAT(env.err, HasSubstr("--threads (from environment variable "
                                 "FUTURED_THREADS) must be positive, got 0"));

  ProgramResult unparsable = RunFutured({}, {"FUTURED_SHUTDOWN_GRACE=soon"});
  EXPECT_NE(unparsable.exit_code, 0);
  EXPECT_THAT(unparsable.err, HasSubstr("FUTURED_SHUTDOWN_GRACE='soon'"));
  EXPECT_THAT(unparsable.err, HasSubstr("--shutdown_grace"));

  Flagfile file("--retention=-1s\n");
  ProgramResult from_file = RunFutured({file.Flag()});
  EXPECT_NE(from_file.exit_code, 0);
  EXPECT_THAT(from_file.err,
              HasSubstr("--retention (from the --flagfile) must be positive"));

  ProgramResult flag = RunFutured({"--log_level=loud"});
  EXPECT_NE(flag.exit_code, 0);
  EXPECT_THAT(flag.err, HasSubstr("--log_level: log level 'loud'"));

  ProgramResult metrics = RunFutured({"--metrics_listen=nonsense"});
  EXPECT_NE(metrics.exit_code, 0);
  EXPECT_THAT(metrics.err, HasSubstr("metrics address 'nonsense'"));
}

// --worker_cpu_limit as the README writes it (whole seconds) and as a
// duration: either starts the daemon, and the limit ends a task that uses
// more CPU than that.
TEST(ConfigTest, WorkerCpuLimitTakesWholeSecondsOrADuration) {
  for (const std::string value : {"1", "1s"}) {
    SCOPED_TRACE(value);
    absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
        DaemonProcess::Start(
            {.flags = {"--worker_cpu_limit=" + value, "--processes=1"}});
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    ExecutorCalls calls((*daemon)->NewChannel());
    // Far longer than the limit: the limit, not the task, ends it, however
    // slowly a loaded machine gives it its second of CPU.
    v1::SubmitRequest burn = CallOf("burn_cpu", {NumberValue(3600)});
    burn.set_pool("process");
    std::string id;
    grpc::Status status = calls.Submit(burn, &id);
    ASSERT_TRUE(status.ok()) << StatusText(status);
    v1::ResultRequest wait;
    wait.set_id(id);
    *wait.mutable_timeout() = DurationProto(absl::Seconds(280));
    v1::FutureInfo info;
    status = calls.Result(wait, &info, absl::Seconds(290));
    ASSERT_TRUE(status.ok()) << StatusText(status);
    EXPECT_THAT(info.outcome().error().message(),
                HasSubstr("CPU-time limit of 1s"));
    absl::StatusOr<int> exit = (*daemon)->Stop(SIGTERM);
    EXPECT_TRUE(exit.ok() && WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0);
  }
  ProgramResult bad = RunFutured({"--worker_cpu_limit=soon"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("whole seconds"));
}

TEST(ConfigTest, UnixSocketModeMustBeOctalAndNeedsAUnixSocket) {
  ProgramResult not_octal = RunFutured(
      {"--listen=unix:/tmp/futured-mode-test.sock", "--unix_socket_mode=0999"});
  EXPECT_NE(not_octal.exit_code, 0);
  EXPECT_THAT(not_octal.err,
              HasSubstr("--unix_socket_mode must be octal permission bits"));

  ProgramResult tcp = RunFutured({"--unix_socket_mode=0660"});
  EXPECT_NE(tcp.exit_code, 0);
  EXPECT_THAT(tcp.err, HasSubstr("applies only to a unix: --listen address"));
}

TEST(ConfigTest, VersionPrintsVersionAndBuildInfo) {
  ProgramResult result = RunFutured({"--version"});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_THAT(result.out, HasSubstr(absl::StrCat("futured ", FUTURED_VERSION)));
  EXPECT_THAT(result.out, HasSubstr("gRPC 1."));
  EXPECT_THAT(result.out, HasSubstr("protobuf 3."));
  EXPECT_THAT(result.out, HasSubstr("built with "));
#ifdef FUTURED_JEMALLOC
  EXPECT_THAT(result.out, HasSubstr("allocator: jemalloc 5."));
#else
  EXPECT_THAT(result.out, HasSubstr("allocator: the C library's malloc"));
#endif
}

TEST(ConfigTest, HelpListsFuturedsOwnFlagsOnly) {
  ProgramResult result = RunFutured({"--help"});
  // abseil's --help exits 1 after printing, as --helpfull does.
  EXPECT_THAT(result.out, HasSubstr("Usage: futured"));
  EXPECT_THAT(result.out, HasSubstr("FUTURED_<FLAG IN UPPER CASE>"));
  for (const char* flag : {"--listen", "--threads", "--shutdown_grace",
                           "--metrics_listen", "--log_level"}) {
    EXPECT_THAT(result.out, HasSubstr(flag));
  }
  EXPECT_THAT(result.out, Not(HasSubstr("--flagfile (")));
}

// The flags --helpfull lists under the daemon's own files ("Flags from
// server/..."): every flag defined anywhere in server/, whichever file.
std::vector<std::string> DaemonFlags(const std::string& helpfull) {
  std::vector<std::string> flags;
  bool in_server_file = false;
  for (const std::string& line : Lines(helpfull)) {
    if (absl::StartsWith(line, "  Flags from ")) {
      in_server_file = absl::StartsWith(line, "  Flags from server/");
    } else if (in_server_file && absl::StartsWith(line, "    --")) {
      const size_t end = line.find_first_of(" =", 6);
      flags.push_back(line.substr(6, end - 6));
    }
  }
  return flags;
}

// A flag defined outside server/daemon/settings.cc would be missing from
// --help and could not be set as FUTURED_<FLAG>; one left out of
// docs/operations.md would be unknown to an operator.
TEST(ConfigTest, EveryFlagIsListedByHelpAndByTheOperationsPage) {
  const std::vector<std::string> flags =
      DaemonFlags(RunFutured({"--helpfull"}).out);
  ASSERT_GT(flags.size(), 20u);
  const std::string help = RunFutured({"--help"}).out;
  std::ifstream doc_file(FUTURED_OPERATIONS_DOC);
  ASSERT_TRUE(doc_file.is_open()) << FUTURED_OPERATIONS_DOC;
  const std::string doc((std::istreambuf_iterator<char>(doc_file)),
                        std::istreambuf_iterator<char>());
  for (const std::string& flag : flags) {
    EXPECT_THAT(help, HasSubstr(absl::StrCat("--", flag, " (")));
    EXPECT_THAT(doc, HasSubstr(absl::StrCat("`--", flag, "`")))
        << "docs/operations.md does not list --" << flag;
  }
}

}  // namespace
}  // namespace futured::testing
