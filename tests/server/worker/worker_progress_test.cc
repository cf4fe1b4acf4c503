#include "server/worker/worker_progress.h"

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace futured::server {
namespace {

constexpr absl::Duration kTestTimeout = absl::Seconds(30);

// What the reporter sent, for the test to inspect.
class Sent {
 public:
  void Add(const internal::TaskProgress& progress) {
    absl::MutexLock lock(&mu_);
    sent_.push_back(progress);
  }
  // Waits (bounded) until a report with `message` was sent.
  bool AwaitMessage(const std::string& message) {
    absl::MutexLock lock(&mu_);
    auto has = [this, &message] {
      mu_.AssertHeld();
      for (const auto& p : sent_) {
        if (p.message() == message) return true;
      }
      return false;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&has), kTestTimeout);
  }
  std::vector<internal::TaskProgress> All() {
    absl::MutexLock lock(&mu_);
    return sent_;
  }

 private:
  absl::Mutex mu_;
  std::vector<internal::TaskProgress> sent_ ABSL_GUARDED_BY(mu_);
};

TEST(WorkerProgressTest, SendsTheReportOfTheRunningTask) {
  Sent sent;
  WorkerProgress progress(absl::Milliseconds(10),
                          [&sent](const auto& p) { sent.Add(p); });
  progress.BeginTask(7);
  progress.Report(0.5, "half");
  ASSERT_TRUE(sent.AwaitMessage("half"));
  progress.EndTask();
  const std::vector<internal::TaskProgress> all = sent.All();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].task_id(), 7u);
  EXPECT_EQ(all[0].fraction(), 0.5);
}

TEST(WorkerProgressTest, ATightLoopIsCoalescedAndTheLatestArrives) {
  constexpr int kReports = 100000;
  Sent sent;
  WorkerProgress progress(absl::Milliseconds(50),
                          [&sent](const auto& p) { sent.Add(p); });
  progress.BeginTask(1);
  for (int i = 0; i < kReports; ++i) {
    progress.Report(static_cast<double>(i) / kReports, std::to_string(i));
  }
  progress.Report(1, "last");
  // The last report goes out once the interval has passed, with no later
  // report to carry it.
  ASSERT_TRUE(sent.AwaitMessage("last"));
  progress.EndTask();
  const std::vector<internal::TaskProgress> all = sent.All();
  EXPECT_LT(all.size(), static_cast<size_t>(kReports));
  EXPECT_EQ(all.back().message(), "last");
}

TEST(WorkerProgressTest, NothingIsSentOutsideATaskOrAfterItEnds) {
  Sent sent;
  // A long interval: the second report waits, and EndTask drops it.
  WorkerProgress progress(absl::Hours(1),
                          [&sent](const auto& p) { sent.Add(p); });
  progress.Report(0.1, "before");
  progress.BeginTask(3);
  progress.Report(0.2, "first");
  ASSERT_TRUE(sent.AwaitMessage("first"));
  progress.Report(0.3, "dropped");
  progress.EndTask();
  progress.Report(0.4, "after");
  const std::vector<internal::TaskProgress> all = sent.All();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].message(), "first");
}

TEST(WorkerProgressTest, MessagesAreCutAndMadeValidUtf8) {
  Sent sent;
  WorkerProgress progress(absl::Milliseconds(1),
                          [&sent](const auto& p) { sent.Add(p); });
  progress.BeginTask(1);
  progress.Report(0.5, std::string(1000, 'y') + "\xff");
  ASSERT_TRUE(sent.AwaitMessage(std::string(kMaxProgressMessageBytes, 'y')));
  progress.EndTask();
}

}  // namespace
}  // namespace futured::server
