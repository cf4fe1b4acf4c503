#include "server/engine/timer_queue.h"

#include <memory>
#include <optional>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace futured::server {
namespace {

using ::testing::ElementsAre;

// Long enough for any healthy run; a wait that reaches it is a failure.
constexpr absl::Duration kTestTimeout = absl::Seconds(30);

// Records the order callbacks ran in. Thread-safe.
class RunLog {
 public:
  TimerQueue::Callback Recorder(int label) {
    return [this, label] {
      absl::MutexLock lock(&mu_);
      labels_.push_back(label);
    };
  }

  std::vector<int> labels() const {
    absl::MutexLock lock(&mu_);
    return labels_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<int> labels_ ABSL_GUARDED_BY(mu_);
};

// Owns the queue's thread while it waits: queue.Schedule(absl::Now(),
// blocker.Callback()) holds later timers back until Release(), so they are
// all due together and run in their own order, whatever the scheduling
// speed. Must outlive the queue.
class Blocker {
 public:
  TimerQueue::Callback Callback() {
    return [this] {
      started_.Notify();
      released_.WaitForNotificationWithTimeout(kTestTimeout);
    };
  }
  bool AwaitStarted() {
    return started_.WaitForNotificationWithTimeout(kTestTimeout);
  }
  void Release() { released_.Notify(); }
  ~Blocker() {
    if (!released_.HasBeenNotified()) released_.Notify();
  }

 private:
  absl::Notification started_;
  absl::Notification released_;
};

TEST(TimerQueueTest, RunsACallbackThatIsDue) {
  TimerQueue queue;
  absl::Notification ran;
  EXPECT_NE(queue.Schedule(absl::InfinitePast(), [&ran] { ran.Notify(); }), 0u);
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(kTestTimeout));
}

TEST(TimerQueueTest, RunsDueCallbacksInTimeOrderThenScheduleOrder) {
  Blocker blocker;
  RunLog log;
  absl::Notification last_ran;
  TimerQueue queue;
  const absl::Time now = absl::Now();
  queue.Schedule(now, blocker.Callback());
  ASSERT_TRUE(blocker.AwaitStarted());
  queue.Schedule(now + absl::Nanoseconds(3), log.Recorder(3));
  queue.Schedule(now + absl::Nanoseconds(1), log.Recorder(1));
  queue.Schedule(now + absl::Nanoseconds(2), log.Recorder(2));
  queue.Schedule(now + absl::Nanoseconds(2), log.Recorder(22));
  queue.Schedule(now + absl::Nanoseconds(4),
                 [&last_ran] { last_ran.Notify(); });
  blocker.Release();

  ASSERT_TRUE(last_ran.WaitForNotificationWithTimeout(kTestTimeout));
  EXPECT_THAT(log.labels(), ElementsAre(1, 2, 22, 3));
}

TEST(TimerQueueTest, EarlierTimerOvertakesOneAlreadyWaitedFor) {
  RunLog log;
  TimerQueue queue;
  queue.Schedule(absl::Now() + absl::Hours(1), log.Recorder(1));
  // Whether the thread is already waiting for the far timer when the near
  // one comes cannot be observed; in some of these rounds it will be.
  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    absl::Notification synced;
    queue.Schedule(absl::Now(), [&synced] { synced.Notify(); });
    ASSERT_TRUE(synced.WaitForNotificationWithTimeout(kTestTimeout));
    absl::Notification ran;
    queue.Schedule(absl::Now() + absl::Microseconds(100),
                   [&ran] { ran.Notify(); });
    ASSERT_TRUE(ran.WaitForNotificationWithTimeout(kTestTimeout))
        << "round " << round;
  }
  EXPECT_THAT(log.labels(), ElementsAre());
  EXPECT_EQ(queue.pending(), 1);
}

TEST(TimerQueueTest, CancelPreventsTheRun) {
  Blocker blocker;
  RunLog log;
  absl::Notification last_ran;
  TimerQueue queue;
  queue.Schedule(absl::Now(), blocker.Callback());
  ASSERT_TRUE(blocker.AwaitStarted());
  const TimerQueue::TimerId id = queue.Schedule(absl::Now(), log.Recorder(1));
  queue.Schedule(absl::Now(), [&last_ran] { last_ran.Notify(); });

  EXPECT_TRUE(queue.Cancel(id));
  EXPECT_FALSE(queue.Cancel(id));  // already gone
  blocker.Release();
  ASSERT_TRUE(last_ran.WaitForNotificationWithTimeout(kTestTimeout));
  EXPECT_THAT(log.labels(), ElementsAre());
}

TEST(TimerQueueTest, CancelAfterTheRunReturnsFalse) {
  TimerQueue queue;
  absl::Notification ran;
  const TimerQueue::TimerId id =
      queue.Schedule(absl::Now(), [&ran] { ran.Notify(); });
  ASSERT_TRUE(ran.WaitForNotificationWithTimeout(kTestTimeout));

  EXPECT_FALSE(queue.Cancel(id));
}

TEST(TimerQueueTest, CancelOfTheRunningTimerReturnsFalse) {
  Blocker blocker;
  TimerQueue queue;
  const TimerQueue::TimerId id =
      queue.Schedule(absl::Now(), blocker.Callback());
  ASSERT_TRUE(blocker.AwaitStarted());

  EXPECT_FALSE(queue.Cancel(id));
  blocker.Release();
}

TEST(TimerQueueTest, CancelOfAnUnknownIdReturnsFalse) {
  TimerQueue queue;
  EXPECT_FALSE(queue.Cancel(0));
  EXPECT_FALSE(queue.Cancel(12345));
}

TEST(TimerQueueTest, CallbackMayScheduleAnother) {
  TimerQueue queue;
  absl::Notification second_ran;
  queue.Schedule(absl::Now(), [&queue, &second_ran] {
    queue.Schedule(absl::Now(), [&second_ran] { second_ran.Notify(); });
  });

  EXPECT_TRUE(second_ran.WaitForNotificationWithTimeout(kTestTimeout));
}

TEST(TimerQueueTest, CallbackMayCancelAnother) {
  Blocker blocker;
  RunLog log;
  absl::Notification last_ran;
  TimerQueue queue;
  queue.Schedule(absl::Now(), blocker.Callback());
  ASSERT_TRUE(blocker.AwaitStarted());
  const absl::Time when = absl::Now();
  std::optional<bool> cancelled;  // written by the callback, read after
  TimerQueue::TimerId victim = 0;
  queue.Schedule(when, [&] { cancelled = queue.Cancel(victim); });
  victim = queue.Schedule(when, log.Recorder(1));
  queue.Schedule(when, [&last_ran] { last_ran.Notify(); });
  blocker.Release();

  ASSERT_TRUE(last_ran.WaitForNotificationWithTimeout(kTestTimeout));
  EXPECT_EQ(cancelled, true);
  EXPECT_THAT(log.labels(), ElementsAre());
}

TEST(TimerQueueTest, PendingCountsTimersNotYetRunOrCancelled) {
  Blocker blocker;
  TimerQueue queue;
  EXPECT_EQ(queue.pending(), 0);
  queue.Schedule(absl::Now(), blocker.Callback());
  ASSERT_TRUE(blocker.AwaitStarted());
  EXPECT_EQ(queue.pending(), 0);  // the running one is not pending

  const TimerQueue::TimerId first = queue.Schedule(absl::Now(), [] {});
  queue.Schedule(absl::Now() + absl::Hours(1), [] {});
  EXPECT_EQ(queue.pending(), 2);
  EXPECT_TRUE(queue.Cancel(first));
  EXPECT_EQ(queue.pending(), 1);
  blocker.Release();
}

TEST(TimerQueueTest, DestructorDropsPendingCallbacksWithoutRunningThem) {
  RunLog log;
  auto capture = std::make_shared<int>(0);
  {
    TimerQueue queue;
    queue.Schedule(absl::Now() + absl::Hours(1),
                   [&log, capture] { log.Recorder(1)(); });
    EXPECT_EQ(capture.use_count(), 2);
  }
  EXPECT_THAT(log.labels(), ElementsAre());
  EXPECT_EQ(capture.use_count(), 1);  // the dropped callback was destroyed
}

}  // namespace
}  // namespace futured::server
