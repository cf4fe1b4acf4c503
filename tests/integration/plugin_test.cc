// Task plugins in the real daemon: loading (--plugin, --plugin_dir), start-up
// failures that name the plugin, plugin tasks in both pools, cancellation,
// and misbehaving plugins that must not take the daemon down.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_test.h"
#include "tests/integration/program_run.h"

namespace futured::testing {
namespace {

using ::futured::v1::FutureInfo;
using ::testing::HasSubstr;

const std::vector<std::string> kPools = {"thread", "process"};

class PluginTest : public DaemonTest {
 protected:
  // Starts a daemon with the example plugin and one worker process.
  void StartWithPlugins(std::vector<std::string> plugins = {EXAMPLE_PLUGIN}) {
    std::vector<std::string> flags = {"--processes=1"};
    for (const std::string& plugin : plugins) {
      flags.push_back(absl::StrCat("--plugin=", plugin));
    }
    ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true, flags));
  }

  FutureInfo Run(const std::string& function,
                 std::vector<google::protobuf::Value> args,
                 const std::string& pool) {
    v1::SubmitRequest request = CallOf(function, std::move(args));
    request.set_pool(pool);
    return MustResult(MustSubmit(request));
  }
};

// futured with `flags` must refuse to start: exit non-zero with every one of
// `expected` in its stderr.
void ExpectStartFails(std::vector<std::string> flags,
                      const std::vector<std::string>& expected) {
  std::vector<std::string> argv = {FUTURED_BINARY, "--listen=127.0.0.1:0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  absl::StatusOr<ProgramResult> result =
      RunProgram(argv, {.timeout = absl::Seconds(60)});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_NE(result->exit_code, 0) << result->err;
  EXPECT_THAT(result->out, ::testing::Not(HasSubstr("listening")));
  for (const std::string& text : expected) {
    EXPECT_THAT(result->err, HasSubstr(text));
  }
}

TEST_F(PluginTest, ListsThePluginTasksWithTheirSignatures) {
  ASSERT_NO_FATAL_FAILURE(StartWithPlugins());
  v1::ListFunctionsResponse functions;
  ASSERT_TRUE(calls_->ListFunctions(&functions).ok());
  std::vector<std::string> signatures;
  for (const v1::FunctionInfo& f : functions.functions()) {
    signatures.push_back(f.signature());
  }
  EXPECT_THAT(signatures,
              ::testing::IsSupersetOf({"primes.count_below(n: integer)",
                                       "text.word_count(text: string)",
                                       "sleep(seconds: number)"}));
}

TEST_F(PluginTest, RunsAPluginTaskInBothPools) {
  ASSERT_NO_FATAL_FAILURE(StartWithPlugins());
  for (const std::string& pool : kPools) {
    SCOPED_TRACE(pool);
    const FutureInfo words =
        Run("text.word_count", {StringValue("  the quick\tbrown fox\n")}, pool);
    EXPECT_EQ(words.state(), v1::FUTURE_STATE_FINISHED);
    EXPECT_EQ(words.outcome().value().number_value(), 4);
    const FutureInfo primes =
        Run("primes.count_below", {NumberValue(100000)}, pool);
    EXPECT_EQ(primes.outcome().value().number_value(), 9592);
    if (pool == "process") {
      // A worker process ran them, not the daemon.
      EXPECT_GT(words.worker_pid(), 0);
      EXPECT_NE(words.worker_pid(), daemon_->pid());
    } else {
      EXPECT_EQ(words.worker_pid(), 0);
    }
  }
}

TEST_F(PluginTest, CheckedArgumentsAndRaisedErrorsAsForBuiltIns) {
  ASSERT_NO_FATAL_FAILURE(StartWithPlugins());
  std::string id;
  grpc::Status status =
      calls_->Submit(CallOf("primes.count_below", {StringValue("x")}), &id);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("must be an integer"));
  status = calls_->Submit(CallOf("primes.count_below", {NumberValue(-1)}), &id);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(PluginTest, CancelsARunningPluginTaskInBothPools) {
  ASSERT_NO_FATAL_FAILURE(StartWithPlugins());
  for (const std::string& pool : kPools) {
    SCOPED_TRACE(pool);
    v1::SubmitRequest request =
        CallOf("primes.count_below", {NumberValue(1e15)});
    request.set_pool(pool);
    const std::string id = MustSubmit(request);
    MustAwaitState(id, v1::FUTURE_STATE_RUNNING);
    MustCancel(id);
    const FutureInfo done = MustResult(id);
    EXPECT_EQ(done.state(), v1::FUTURE_STATE_CANCELLED);
    EXPECT_TRUE(done.outcome().cancelled());
  }
  // The process pool replaced the killed worker and runs plugin tasks still.
  EXPECT_EQ(Run("text.word_count", {StringValue("a b")}, "process")
                .outcome()
                .value()
                .number_value(),
            2);
}

TEST_F(PluginTest, MisbehavingPluginTasksFailWithoutHarmingTheDaemon) {
  ASSERT_NO_FATAL_FAILURE(StartWithPlugins({MISBEHAVING_PLUGIN}));
  for (const std::string& pool : kPools) {
    SCOPED_TRACE(pool);
    FutureInfo info = Run("bad.invalid_json", {}, pool);
    EXPECT_EQ(info.outcome().error().type(), "PluginError");
    EXPECT_THAT(info.outcome().error().message(),
                HasSubstr("returned text that is not JSON"));
    info = Run("bad.no_result", {}, pool);
    EXPECT_EQ(info.outcome().error().type(), "PluginError");
    EXPECT_THAT(info.outcome().error().message(),
                HasSubstr("returned without a result"));
    info = Run("bad.bad_utf8_error", {}, pool);
    // Each byte that is not UTF-8 becomes U+FFFD.
    EXPECT_EQ(info.outcome().error().type(), "Bad\xEF\xBF\xBDType");
    EXPECT_EQ(info.outcome().error().message(), "message \xEF\xBF\xBD( here");
    info = Run("bad.two_results", {}, pool);
    EXPECT_EQ(info.outcome().value().number_value(), 1);  // the first wins
  }
}

TEST_F(PluginTest, PluginDirLoadsEverySharedLibraryInIt) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      absl::StrCat("futured_plugin_dir_", getpid());
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(EXAMPLE_PLUGIN, dir / "a_example.so");
  std::filesystem::copy_file(PROGRESS_PROBE_PLUGIN, dir / "b_probe.so");
  std::filesystem::copy_file(WRONG_VERSION_PLUGIN, dir / "ignored.txt");
  ASSERT_NO_FATAL_FAILURE(StartDaemon(
      /*unix_socket=*/true,
      {"--processes=1", absl::StrCat("--plugin_dir=", dir.string())}));
  for (const std::string& pool : kPools) {
    EXPECT_EQ(Run("probe.report_many", {NumberValue(3)}, pool)
                  .outcome()
                  .value()
                  .number_value(),
              3);
    EXPECT_EQ(Run("text.word_count", {StringValue("x")}, pool)
                  .outcome()
                  .value()
                  .number_value(),
              1);
  }
  std::filesystem::remove_all(dir);
}

TEST(PluginStartTest, AWrongSdkVersionIsRefusedNamingThePlugin) {
  ExpectStartFails({absl::StrCat("--plugin=", WRONG_VERSION_PLUGIN)},
                   {WRONG_VERSION_PLUGIN, "ABI version 2", "has version 1"});
}

TEST(PluginStartTest, AMissingEntrySymbolIsRefusedNamingThePlugin) {
  ExpectStartFails(
      {absl::StrCat("--plugin=", MISSING_REGISTER_PLUGIN)},
      {MISSING_REGISTER_PLUGIN, "no futured_plugin_register symbol"});
}

TEST(PluginStartTest, ALibraryThatIsNoPluginIsRefused) {
  ExpectStartFails({absl::StrCat("--plugin=", NOT_A_PLUGIN)},
                   {NOT_A_PLUGIN, "no futured_plugin_abi_version symbol"});
}

TEST(PluginStartTest, AFileThatDoesNotLoadIsRefused) {
  const std::filesystem::path text =
      std::filesystem::temp_directory_path() /
      absl::StrCat("futured_not_elf_", getpid(), ".so");
  std::ofstream(text) << "not a shared library\n";
  ExpectStartFails({absl::StrCat("--plugin=", text.string())},
                   {text.string(), "cannot load"});
  std::filesystem::remove(text);
  ExpectStartFails({"--plugin=/nonexistent/plugin.so"},
                   {"/nonexistent/plugin.so", "cannot load"});
}

TEST(PluginStartTest, ANameClashWithABuiltInTaskIsRefused) {
  ExpectStartFails({absl::StrCat("--plugin=", DUPLICATE_BUILTIN_PLUGIN)},
                   {DUPLICATE_BUILTIN_PLUGIN,
                    "task 'echo' is already registered as a built-in task"});
}

TEST(PluginStartTest, ANameClashBetweenPluginsNamesBoth) {
  ExpectStartFails(
      {absl::StrCat("--plugin=", EXAMPLE_PLUGIN),
       absl::StrCat("--plugin=", DUPLICATE_EXAMPLE_PLUGIN)},
      {absl::StrCat("plugin ", DUPLICATE_EXAMPLE_PLUGIN,
                    ": task 'text.word_count' is already registered by "
                    "plugin ",
                    EXAMPLE_PLUGIN)});
}

TEST(PluginStartTest, AnUnreadablePluginDirIsRefused) {
  ExpectStartFails({"--plugin_dir=/nonexistent/plugins"},
                   {"/nonexistent/plugins"});
}

}  // namespace
}  // namespace futured::testing
