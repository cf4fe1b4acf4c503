#include "server/task/cancellation_token.h"

#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace futured::server {
namespace {

// Long enough for any healthy run; a wait that reaches it is a failure.
constexpr absl::Duration kTestTimeout = absl::Seconds(30);

TEST(CancellationTokenTest, StartsNotCancelledAndStaysCancelled) {
  CancellationToken token;
  EXPECT_FALSE(token.IsCancelled());
  token.Cancel();
  EXPECT_TRUE(token.IsCancelled());
  token.Cancel();  // idempotent
  EXPECT_TRUE(token.IsCancelled());
}

TEST(CancellationTokenTest, WaitUntilTimesOutReturningFalse) {
  CancellationToken token;
  EXPECT_FALSE(token.WaitUntil(absl::Now() + absl::Milliseconds(10)));
  EXPECT_FALSE(token.WaitUntil(absl::InfinitePast()));
  EXPECT_FALSE(token.IsCancelled());
}

TEST(CancellationTokenTest, WaitUntilReturnsTrueOnceCancelled) {
  CancellationToken token;
  token.Cancel();
  // Far enough off that a wait which ignored the flag would fail the test.
  EXPECT_TRUE(token.WaitUntil(absl::Now() + absl::Hours(1)));
  EXPECT_TRUE(token.WaitUntil(absl::InfinitePast()));
}

TEST(CancellationTokenTest, CancelWakesEveryWaiterOnOtherThreads) {
  constexpr int kWaiters = 3;
  CancellationToken token;
  absl::Notification entering[kWaiters];
  absl::Notification woke[kWaiters];
  bool results[kWaiters] = {};
  std::vector<std::thread> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back([&, i] {
      entering[i].Notify();
      // Past kTestTimeout, so a waiter that Cancel() did not wake fails the
      // check below and is still joined.
      results[i] = token.WaitUntil(absl::Now() + 2 * kTestTimeout);
      woke[i].Notify();
    });
  }
  for (auto& n : entering)
    EXPECT_TRUE(n.WaitForNotificationWithTimeout(kTestTimeout));

  token.Cancel();
  for (auto& n : woke)
    EXPECT_TRUE(n.WaitForNotificationWithTimeout(kTestTimeout));
  for (std::thread& waiter : waiters) waiter.join();
  for (bool result : results) EXPECT_TRUE(result);
}

TEST(CancellationTokenTest, CancelCallbacksRunOnceOnTheFirstCancel) {
  CancellationToken token;
  int runs = 0;
  EXPECT_NE(token.AddCancelCallback([&runs] { ++runs; }), 0u);
  EXPECT_EQ(runs, 0);
  token.Cancel();
  EXPECT_EQ(runs, 1);
  token.Cancel();
  EXPECT_EQ(runs, 1);
}

TEST(CancellationTokenTest, CancelCallbackRunsInlineWhenAlreadyCancelled) {
  CancellationToken token;
  token.Cancel();
  int runs = 0;
  EXPECT_EQ(token.AddCancelCallback([&runs] { ++runs; }), 0u);
  EXPECT_EQ(runs, 1);
}

TEST(CancellationTokenTest, RemovedCancelCallbackNeverRuns) {
  CancellationToken token;
  int runs = 0;
  const CancellationToken::CallbackId id =
      token.AddCancelCallback([&runs] { ++runs; });
  token.RemoveCancelCallback(id);
  token.RemoveCancelCallback(0);  // no-op
  token.Cancel();
  EXPECT_EQ(runs, 0);
}

// The callback map is freed when its last callback is removed; callbacks
// added after that, and IDs, still work.
TEST(CancellationTokenTest, CallbacksAddedAfterTheLastWasRemovedRun) {
  CancellationToken token;
  std::vector<int> ran;
  const CancellationToken::CallbackId a =
      token.AddCancelCallback([&ran] { ran.push_back(1); });
  const CancellationToken::CallbackId b =
      token.AddCancelCallback([&ran] { ran.push_back(2); });
  token.RemoveCancelCallback(a);
  token.RemoveCancelCallback(b);
  token.RemoveCancelCallback(b);  // no-op
  const CancellationToken::CallbackId c =
      token.AddCancelCallback([&ran] { ran.push_back(3); });
  EXPECT_NE(c, a);
  EXPECT_NE(c, b);
  token.AddCancelCallback([&ran] { ran.push_back(4); });
  token.RemoveCancelCallback(a);  // no-op: long gone
  token.Cancel();
  EXPECT_EQ(ran, (std::vector<int>{3, 4}));
}

TEST(CancellationTokenTest, CancelCallbackMayReadTheToken) {
  // Callbacks run with no lock held, so they may use the token.
  CancellationToken token;
  bool seen_cancelled = false;
  token.AddCancelCallback([&] { seen_cancelled = token.IsCancelled(); });
  token.Cancel();
  EXPECT_TRUE(seen_cancelled);
}

}  // namespace
}  // namespace futured::server
