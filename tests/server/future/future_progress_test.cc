// Progress on a future: MakeProgress, Future::SetProgress and its
// change-callbacks, and a task's reports reaching its future from a thread
// pool and from a worker process.
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/future/future.h"
#include "server/pools/process_pool.h"
#include "server/pools/thread_pool.h"
#include "server/task/progress.h"
#include "server/task/task_context.h"
#include "server/task/task_registry.h"
#include "server/tasks/builtin_tasks.h"
#include "tests/server/value_builders.h"

namespace futured::server {
namespace {

constexpr absl::Duration kTestTimeout = absl::Seconds(30);

TEST(MakeProgressTest, ClampsTheFractionAndCutsTheMessage) {
  const absl::Time now = absl::Now();
  EXPECT_EQ(MakeProgress(0.5, "m", now).fraction, 0.5);
  EXPECT_EQ(MakeProgress(-1, "", now).fraction, 0.0);
  EXPECT_EQ(MakeProgress(2, "", now).fraction, 1.0);
  EXPECT_EQ(MakeProgress(std::nan(""), "", now).fraction, 0.0);
  const Progress long_one =
      MakeProgress(0.1, std::string(1000, 'x') + "\xff", now);
  EXPECT_EQ(long_one.message, std::string(kMaxProgressMessageBytes, 'x'));
  EXPECT_EQ(MakeProgress(0.1, "a\xff", now).message,
            "a\xEF\xBF\xBD");  // U+FFFD
  EXPECT_EQ(long_one.update_time, now);
}

TEST(FutureProgressTest, KeptOnlyWhileRunningAndShownInSnapshots) {
  Future future("id", "f", "thread", absl::Now());
  EXPECT_FALSE(future.SetProgress(MakeProgress(0.1, "early", absl::Now())));
  EXPECT_FALSE(future.Snapshot().progress.has_value());
  ASSERT_TRUE(future.Start(absl::Now()));
  EXPECT_TRUE(future.SetProgress(MakeProgress(0.3, "a third", absl::Now())));
  EXPECT_TRUE(future.SetProgress(MakeProgress(0.6, "more", absl::Now())));
  ASSERT_TRUE(future.Snapshot().progress.has_value());
  EXPECT_EQ(future.Snapshot().progress->fraction, 0.6);
  EXPECT_EQ(future.Snapshot().progress->message, "more");
  ASSERT_TRUE(future.Finish(testing::Num(1), absl::Now()));
  EXPECT_FALSE(future.SetProgress(MakeProgress(0.9, "late", absl::Now())));
  EXPECT_EQ(future.Snapshot().progress->message, "more");  // the last kept
}

TEST(FutureProgressTest, ChangeCallbacksRunOnStartAndEachReportUntilRemoved) {
  Future future("id", "f", "thread", absl::Now());
  int changes = 0;
  const Future::CallbackId id =
      future.AddChangeCallback([&changes] { ++changes; });
  ASSERT_TRUE(future.Start(absl::Now()));
  EXPECT_EQ(changes, 1);
  future.SetProgress(MakeProgress(0.5, "", absl::Now()));
  EXPECT_EQ(changes, 2);
  future.RemoveChangeCallback(id);
  future.SetProgress(MakeProgress(0.7, "", absl::Now()));
  EXPECT_EQ(changes, 2);
}

TEST(FutureProgressTest, NoChangeCallbackIsKeptOnceDone) {
  Future future("id", "f", "thread", absl::Now());
  int changes = 0;
  future.AddChangeCallback([&changes] { ++changes; });
  future.Cancel(absl::Now());
  EXPECT_FALSE(future.Start(absl::Now()));
  future.AddChangeCallback([&changes] { ++changes; });
  EXPECT_EQ(changes, 0);
}

TEST(FutureProgressTest, AThreadPoolTasksReportsReachItsFuture) {
  absl::Notification reported;
  absl::Notification release;
  const TaskSpec spec{
      .name = "reporter",
      .description = "",
      .params = {},
      .function = [&](const TaskContext& ctx, const BoundArgs&) -> Outcome {
        ctx.ReportProgress(0.4, "forty");
        reported.Notify();
        release.WaitForNotificationWithTimeout(kTestTimeout);
        return testing::Num(1);
      }};
  ThreadPool pool(ThreadPool::Options{.workers = 1});
  auto future =
      std::make_shared<Future>("id", "reporter", "thread", absl::Now());
  ASSERT_TRUE(pool.Submit(future, Task{.spec = &spec, .args = {}}).ok());
  ASSERT_TRUE(reported.WaitForNotificationWithTimeout(kTestTimeout));
  const FutureSnapshot snapshot = future->Snapshot();
  ASSERT_TRUE(snapshot.progress.has_value());
  EXPECT_EQ(snapshot.progress->fraction, 0.4);
  EXPECT_EQ(snapshot.progress->message, "forty");
  release.Notify();
  pool.Shutdown(kTestTimeout);
}

TEST(FutureProgressTest, AProcessPoolTasksReportsReachItsFuture) {
  TaskRegistry registry;
  ASSERT_TRUE(RegisterBuiltinTasks(registry).ok());
  ProcessPool::Options options;
  options.workers = 1;
  options.worker_binary = FUTURED_WORKER_BINARY;
  ProcessPool pool(std::move(options));
  absl::StatusOr<const TaskSpec*> sleep = registry.Find("sleep");
  ASSERT_TRUE(sleep.ok());
  auto future = std::make_shared<Future>("id", "sleep", "process", absl::Now());
  ASSERT_TRUE(pool.Submit(future, Task{.spec = *sleep,
                                       .args = BoundArgs({testing::Num(600)})})
                  .ok());
  // sleep reports at once; the worker sends it over its socket.
  absl::Notification changed;
  future->AddChangeCallback([&changed, &future] {
    if (future->Snapshot().progress.has_value() && !changed.HasBeenNotified()) {
      changed.Notify();
    }
  });
  if (!future->Snapshot().progress.has_value()) {
    ASSERT_TRUE(changed.WaitForNotificationWithTimeout(kTestTimeout));
  }
  const FutureSnapshot snapshot = future->Snapshot();
  EXPECT_EQ(snapshot.state, FutureState::kRunning);
  EXPECT_GT(snapshot.worker_pid, 0);
  EXPECT_NE(snapshot.progress->message.find("of 600 s"), std::string::npos)
      << snapshot.progress->message;
  future->Cancel(absl::Now());
  EXPECT_TRUE(pool.Shutdown(kTestTimeout));
}

}  // namespace
}  // namespace futured::server
