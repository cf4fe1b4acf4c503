// Hand-offs of plain data through each absl synchronization primitive that
// futured uses. In a FUTURED_SANITIZE=thread build this runs twice:
//  - tsan_absl_handoffs_test, with absl_sync_annotations.cc, must be clean;
//  - tsan_absl_handoffs_unannotated, without it, must report a data race in
//    every test: each test's only ordering is the primitive, which TSan cannot
//    see inside Debian's uninstrumented abseil on its own.
// Thread start and join also order memory for TSan, so every read of handed-
// off data happens before the writer is joined.
#include <atomic>
#include <thread>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace {

constexpr int kIncrements = 1000;
// Long enough never to pass on a loaded machine; the waits return when the
// condition holds, not when this runs out.
constexpr absl::Duration kPatience = absl::Seconds(60);

TEST(AbslHandoff, LockAndUnlock) {
  absl::Mutex mu;
  int counter = 0;
  auto increment = [&] {
    for (int i = 0; i < kIncrements; ++i) {
      absl::MutexLock lock(&mu);
      ++counter;
    }
  };
  std::thread a(increment), b(increment);
  a.join();
  b.join();
  EXPECT_EQ(counter, 2 * kIncrements);
}

TEST(AbslHandoff, TryLock) {
  absl::Mutex mu;
  int counter = 0;
  std::atomic<int> successes{0};
  auto increment = [&] {
    for (int i = 0; i < kIncrements; ++i) {
      if (!mu.TryLock()) continue;
      ++counter;
      mu.Unlock();
      successes.fetch_add(1, std::memory_order_relaxed);
    }
  };
  std::thread a(increment), b(increment);
  a.join();
  b.join();
  EXPECT_EQ(counter, successes.load());
}

TEST(AbslHandoff, ReaderLockSeesWriterLock) {
  absl::Mutex mu;
  int value = 0;
  std::thread writer([&] {
    for (int i = 1; i <= kIncrements; ++i) {
      absl::MutexLock lock(&mu);
      value = i;
    }
  });
  std::thread reader([&] {
    int last = 0;
    for (int i = 0; i < kIncrements; ++i) {
      absl::ReaderMutexLock lock(&mu);
      EXPECT_GE(value, last);
      last = value;
    }
  });
  writer.join();
  reader.join();
}

// Producer writes `data` and sets `ready` under the lock; the consumer reads
// `data` once it sees `ready`, through the given wait.
struct Handoff {
  absl::Mutex mu;
  bool ready ABSL_GUARDED_BY(mu) = false;
  int data = 0;

  std::thread Produce() {
    return std::thread([this] {
      data = 42;
      absl::MutexLock lock(&mu);
      ready = true;
    });
  }
};

TEST(AbslHandoff, Await) {
  Handoff h;
  std::thread producer = h.Produce();
  h.mu.Lock();
  h.mu.Await(absl::Condition(&h.ready));
  EXPECT_EQ(h.data, 42);
  h.mu.Unlock();
  producer.join();
}

TEST(AbslHandoff, AwaitWithTimeout) {
  Handoff h;
  std::thread producer = h.Produce();
  h.mu.Lock();
  EXPECT_TRUE(h.mu.AwaitWithTimeout(absl::Condition(&h.ready), kPatience));
  EXPECT_EQ(h.data, 42);
  h.mu.Unlock();
  producer.join();
}

TEST(AbslHandoff, AwaitWithDeadline) {
  Handoff h;
  std::thread producer = h.Produce();
  h.mu.Lock();
  EXPECT_TRUE(h.mu.AwaitWithDeadline(absl::Condition(&h.ready),
                                     absl::Now() + kPatience));
  EXPECT_EQ(h.data, 42);
  h.mu.Unlock();
  producer.join();
}

TEST(AbslHandoff, LockWhen) {
  Handoff h;
  std::thread producer = h.Produce();
  h.mu.LockWhen(absl::Condition(&h.ready));
  EXPECT_EQ(h.data, 42);
  h.mu.Unlock();
  producer.join();
}

TEST(AbslHandoff, LockWhenWithTimeout) {
  Handoff h;
  std::thread producer = h.Produce();
  EXPECT_TRUE(h.mu.LockWhenWithTimeout(absl::Condition(&h.ready), kPatience));
  EXPECT_EQ(h.data, 42);
  h.mu.Unlock();
  producer.join();
}

TEST(AbslHandoff, LockWhenWithDeadline) {
  Handoff h;
  std::thread producer = h.Produce();
  EXPECT_TRUE(h.mu.LockWhenWithDeadline(absl::Condition(&h.ready),
                                        absl::Now() + kPatience));
  EXPECT_EQ(h.data, 42);
  h.mu.Unlock();
  producer.join();
}

TEST(AbslHandoff, ReaderLockWhenWithTimeout) {
  Handoff h;
  std::thread producer = h.Produce();
  EXPECT_TRUE(
      h.mu.ReaderLockWhenWithTimeout(absl::Condition(&h.ready), kPatience));
  EXPECT_EQ(h.data, 42);
  h.mu.ReaderUnlock();
  producer.join();
}

TEST(AbslHandoff, ReaderLockWhen) {
  Handoff h;
  std::thread producer = h.Produce();
  h.mu.ReaderLockWhen(absl::Condition(&h.ready));
  EXPECT_EQ(h.data, 42);
  h.mu.ReaderUnlock();
  producer.join();
}

TEST(AbslHandoff, CondVarWait) {
  Handoff h;
  absl::CondVar cv;
  std::thread producer([&] {
    h.data = 42;
    absl::MutexLock lock(&h.mu);
    h.ready = true;
    cv.Signal();
  });
  {
    absl::MutexLock lock(&h.mu);
    while (!h.ready) cv.Wait(&h.mu);  // ends: the producer sets it once
    EXPECT_EQ(h.data, 42);
  }
  producer.join();
}

// Waits on `cv` until the producer of `h` signals, through `wait`.
template <typename Wait>
void HandOffThroughCondVar(Wait wait) {
  Handoff h;
  absl::CondVar cv;
  std::thread producer([&] {
    h.data = 42;
    absl::MutexLock lock(&h.mu);
    h.ready = true;
    cv.SignalAll();
  });
  {
    absl::MutexLock lock(&h.mu);
    const absl::Time deadline = absl::Now() + kPatience;
    while (!h.ready && absl::Now() < deadline) wait(cv, h.mu, deadline);
    ASSERT_TRUE(h.ready);
    EXPECT_EQ(h.data, 42);
  }
  producer.join();
}

TEST(AbslHandoff, CondVarWaitWithTimeout) {
  HandOffThroughCondVar(
      [](absl::CondVar& cv, absl::Mutex& mu, absl::Time deadline) {
        cv.WaitWithTimeout(&mu, deadline - absl::Now());
      });
}

TEST(AbslHandoff, CondVarWaitWithDeadline) {
  HandOffThroughCondVar(
      [](absl::CondVar& cv, absl::Mutex& mu, absl::Time deadline) {
        cv.WaitWithDeadline(&mu, deadline);
      });
}

TEST(AbslHandoff, NotificationWait) {
  absl::Notification done;
  int data = 0;
  std::thread producer([&] {
    data = 42;
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_EQ(data, 42);
  producer.join();
}

// The waiter comes after Notify, so WaitForNotification takes its fast path
// (an atomic flag, no mutex). The relaxed atomic that tells the waiter when
// to wait orders nothing for TSan.
TEST(AbslHandoff, NotificationAlreadyNotified) {
  absl::Notification done;
  std::atomic<bool> notified{false};
  int data = 0;
  std::thread producer([&] {
    data = 42;
    done.Notify();
    notified.store(true, std::memory_order_relaxed);
  });
  const absl::Time deadline = absl::Now() + kPatience;
  while (!notified.load(std::memory_order_relaxed) && absl::Now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_TRUE(notified.load(std::memory_order_relaxed));
  EXPECT_TRUE(done.WaitForNotificationWithTimeout(kPatience));
  EXPECT_EQ(data, 42);
  producer.join();
}

TEST(AbslHandoff, BlockingCounter) {
  constexpr int kWorkers = 3;
  absl::BlockingCounter counter(kWorkers);
  std::vector<int> slots(kWorkers, 0);
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      slots[w] = w + 1;
      counter.DecrementCount();
    });
  }
  counter.Wait();
  for (int w = 0; w < kWorkers; ++w) EXPECT_EQ(slots[w], w + 1);
  for (std::thread& t : workers) t.join();
}

}  // namespace
