// What tests of any Journal implementation share.
#ifndef FUTURED_TESTS_SERVER_STORE_JOURNAL_TEST_UTIL_H_
#define FUTURED_TESTS_SERVER_STORE_JOURNAL_TEST_UTIL_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "server/store/journal.h"
#include "server/store/sqlite_journal.h"

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

// A Journal::Started that passes on only whether the start was committed.
inline Journal::Started AsStarted(Journal::Committed committed) {
  return [committed = std::move(committed)](
             absl::StatusOr<std::vector<std::string>> started) mutable {
    std::move(committed)(started.status());
  };
}

// Runs `start` with a Journal::Started and waits for its answer: the IDs
// claimed away, or the error.
inline absl::StatusOr<std::vector<std::string>> StartedLost(
    const std::function<void(Journal::Started)>& start) {
  absl::Notification done;
  absl::StatusOr<std::vector<std::string>> answer;
  start([&](absl::StatusOr<std::vector<std::string>> started) {
    answer = std::move(started);
    done.Notify();
  });
  done.WaitForNotification();
  return answer;
}

namespace journal_test {

// A state directory of the test's own, removed with everything in it.
class StateDir {
 public:
  StateDir() {
    char dir[] = "/tmp/futured_journal_test.XXXXXX";
    if (mkdtemp(dir) == nullptr) std::abort();
    path_ = dir;
  }
  ~StateDir() { std::filesystem::remove_all(path_); }
  StateDir(const StateDir&) = delete;
  StateDir& operator=(const StateDir&) = delete;
  const std::string& path() const { return path_; }
  std::string db() const { return path_ + "/futured.db"; }

 private:
  std::string path_;
};

inline google::protobuf::Value Number(double n) {
  google::protobuf::Value v;
  v.set_number_value(n);
  return v;
}

// A call of sleep(1.5) by alice, accepted at 1000 s.
inline AcceptedCall Call(const std::string& id) {
  google::protobuf::ListValue args;
  *args.add_values() = Number(1.5);
  return AcceptedCall{.id = id,
                      .principal = "alice",
                      .request_id = "",
                      .function = "sleep",
                      .pool = "thread",
                      .args = args.SerializeAsString(),
                      .submit_time = absl::FromUnixSeconds(1000)};
}

inline std::unique_ptr<SqliteJournal> OpenOrDie(
    const StateDir& dir, SqliteJournal::Options options = {}) {
  options.dir = dir.path();
  absl::StatusOr<std::unique_ptr<SqliteJournal>> journal =
      SqliteJournal::Open(options);
  EXPECT_TRUE(journal.ok()) << journal.status();
  return journal.ok() ? *std::move(journal) : nullptr;
}

}  // namespace journal_test
}  // namespace futured::server

#endif  // FUTURED_TESTS_SERVER_STORE_JOURNAL_TEST_UTIL_H_
