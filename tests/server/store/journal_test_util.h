// What tests of any Journal implementation share.
#ifndef FUTURED_TESTS_SERVER_STORE_JOURNAL_TEST_UTIL_H_
#define FUTURED_TESTS_SERVER_STORE_JOURNAL_TEST_UTIL_H_

#include <functional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "server/store/journal.h"

namespace futured::server {

// Every future Journal::Recover() brings back, in its order.
inline absl::StatusOr<std::vector<JournaledFuture>> RecoverAll(
    Journal& journal) {
  std::vector<JournaledFuture> futures;
  absl::Status read = journal.Recover(
      [&](JournaledFuture& f) { futures.push_back(std::move(f)); });
  if (!read.ok()) return read;
  return futures;
}

// Runs `write` with a callback and waits for that callback's status.
inline absl::Status Committed(
    const std::function<void(Journal::Committed)>& write) {
  absl::Notification done;
  absl::Status status;
  write([&](absl::Status s) {
    status = s;
    done.Notify();
  });
  done.WaitForNotification();
  return status;
}

}  // namespace futured::server

#endif  // FUTURED_TESTS_SERVER_STORE_JOURNAL_TEST_UTIL_H_
