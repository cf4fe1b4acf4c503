// PluginLoader against the test plugins (tests/integration/plugins/) and the
// example plugin: registration, refusals naming the plugin, and plugin tasks
// called through their TaskFunction.
#include "server/task/plugin_loader.h"

#include <algorithm>
#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/task/cancellation_token.h"
#include "server/task/task_context.h"
#include "server/task/task_registry.h"
#include "server/tasks/builtin_tasks.h"
#include "tests/server/value_builders.h"

namespace futured::server {
namespace {

using ::testing::HasSubstr;

// Calls the registered task `name` with `args` in a thread-pool context.
Outcome Call(const TaskRegistry& registry, const std::string& name,
             std::vector<google::protobuf::Value> args,
             const CancellationToken& token) {
  absl::StatusOr<const TaskSpec*> spec = registry.Find(name);
  EXPECT_TRUE(spec.ok()) << spec.status();
  const TaskContext ctx(token, absl::InfiniteFuture());
  return (*spec)->function(ctx, BoundArgs(std::move(args)));
}

TEST(PluginLoaderTest, RegistersTheExamplePluginsTasks) {
  TaskRegistry registry;
  PluginLoader loader(&registry);
  ASSERT_TRUE(loader.Load(EXAMPLE_PLUGIN).ok());
  absl::StatusOr<const TaskSpec*> spec = registry.Find("primes.count_below");
  ASSERT_TRUE(spec.ok());
  EXPECT_EQ((*spec)->Signature(), "primes.count_below(n: integer)");
  const CancellationToken token;
  const Outcome words =
      Call(registry, "text.word_count", {testing::Str("one two")}, token);
  ASSERT_TRUE(std::holds_alternative<google::protobuf::Value>(words));
  EXPECT_EQ(std::get<google::protobuf::Value>(words).number_value(), 2);
}

TEST(PluginLoaderTest, AnAlreadyCancelledTaskEndsCancelled) {
  TaskRegistry registry;
  PluginLoader loader(&registry);
  ASSERT_TRUE(loader.Load(EXAMPLE_PLUGIN).ok());
  CancellationToken token;
  token.Cancel();
  EXPECT_TRUE(IsCancelled(
      Call(registry, "primes.count_below", {testing::Num(1e15)}, token)));
}

TEST(PluginLoaderTest, RefusesAWrongVersionBeforeRegisteringAnything) {
  TaskRegistry registry;
  PluginLoader loader(&registry);
  const absl::Status status = loader.Load(WRONG_VERSION_PLUGIN);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr(WRONG_VERSION_PLUGIN));
  EXPECT_THAT(status.message(), HasSubstr("ABI version 2"));
  EXPECT_TRUE(registry.List().empty());
}

TEST(PluginLoaderTest, RefusesAMissingSymbolOrFile) {
  TaskRegistry registry;
  PluginLoader loader(&registry);
  EXPECT_THAT(loader.Load(MISSING_REGISTER_PLUGIN).message(),
              HasSubstr("no futured_plugin_register symbol"));
  EXPECT_THAT(loader.Load("/nonexistent.so").message(),
              HasSubstr("plugin /nonexistent.so: cannot load"));
}

TEST(PluginLoaderTest, NamesWhoHasATakenName) {
  TaskRegistry registry;
  ASSERT_TRUE(RegisterBuiltinTasks(registry).ok());
  PluginLoader loader(&registry);
  absl::Status status = loader.Load(DUPLICATE_BUILTIN_PLUGIN);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(status.message(),
              HasSubstr("'echo' is already registered as a built-in task"));
  ASSERT_TRUE(loader.Load(EXAMPLE_PLUGIN).ok());
  status = loader.Load(DUPLICATE_EXAMPLE_PLUGIN);
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(
      status.message(),
      HasSubstr(absl::StrCat("already registered by plugin ", EXAMPLE_PLUGIN)));
}

TEST(PluginLoaderTest, ListsSharedLibrariesOfADirectoryInOrder) {
  const std::string dir = std::filesystem::path(EXAMPLE_PLUGIN).parent_path();
  absl::StatusOr<std::vector<std::string>> paths = PluginsInDirectory(dir);
  ASSERT_TRUE(paths.ok());
  EXPECT_THAT(*paths, ::testing::Contains(std::string(EXAMPLE_PLUGIN)));
  EXPECT_TRUE(std::is_sorted(paths->begin(), paths->end()));
  EXPECT_EQ(PluginsInDirectory("/nonexistent").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace futured::server
