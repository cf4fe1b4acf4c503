// Real data races that ThreadSanitizer must report in a FUTURED_SANITIZE=
// thread build, with absl_sync_annotations.cc linked in: ctest passes each
// test only if its output has TSan's "data race" report. They prove the set-up
// detects races at all, and that the absl annotations order only what abseil
// orders (readers do not order each other; a Notification orders only what
// came before Notify).
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace {

constexpr int kIncrements = 1000;

TEST(TsanRace, UnlockedCounter) {
  int counter = 0;
  auto increment = [&] {
    for (int i = 0; i < kIncrements; ++i) ++counter;
  };
  std::thread a(increment), b(increment);
  a.join();
  b.join();
  EXPECT_GT(counter, 0);
}

TEST(TsanRace, WritesUnderReaderLocks) {
  absl::Mutex mu;
  int counter = 0;
  auto increment = [&] {
    for (int i = 0; i < kIncrements; ++i) {
      absl::ReaderMutexLock lock(&mu);
      ++counter;
    }
  };
  std::thread a(increment), b(increment);
  a.join();
  b.join();
  EXPECT_GT(counter, 0);
}

TEST(TsanRace, WriteAfterUnlock) {
  absl::Mutex mu;
  int value = 0;
  std::thread writer([&] {
    { absl::MutexLock lock(&mu); }
    value = 1;
  });
  std::thread reader([&] {
    absl::MutexLock lock(&mu);
    EXPECT_GE(value, 0);
  });
  writer.join();
  reader.join();
}

TEST(TsanRace, WriteAfterNotify) {
  absl::Notification done;
  int data = 0;
  std::thread producer([&] {
    done.Notify();
    data = 42;
  });
  done.WaitForNotification();
  EXPECT_GE(data, 0);
  producer.join();
}

}  // namespace
