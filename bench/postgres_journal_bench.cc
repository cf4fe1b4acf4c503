// How fast PostgresJournal commits futures' records to a local PostgreSQL
// (a throw-away server, as the tests start): each future accepted, started
// and ended as the engine journals a Submit, one Accept per future, queued
// as fast as one thread can.
//   build/bench/postgres_journal_bench [--futures=100000]
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/store/postgres_journal.h"
#include "tests/support/postgres_server.h"

ABSL_FLAG(int, futures, 100000, "futures to journal");

namespace futured::server {
namespace {

// Counts callbacks and says when `expected` have run.
class Countdown {
 public:
  explicit Countdown(int expected) : left_(expected) {}
  Journal::Committed Callback() {
    return [this](absl::Status status) {
      if (!status.ok()) failed_.fetch_add(1);
      if (left_.fetch_sub(1) == 1) done_.Notify();
    };
  }
  // For Start(): a start claimed away counts as one that failed.
  Journal::Started StartCallback() {
    return [this](absl::StatusOr<std::vector<std::string>> lost) {
      if (!lost.ok() || !lost->empty()) failed_.fetch_add(1);
      if (left_.fetch_sub(1) == 1) done_.Notify();
    };
  }
  void Wait() { done_.WaitForNotification(); }
  int failed() const { return failed_.load(); }

 private:
  std::atomic<int> left_;
  std::atomic<int> failed_{0};
  absl::Notification done_;
};

void Report(const char* phase, int records, absl::Duration took,
            const JournalStats& before, const JournalStats& after) {
  const int64_t commits = after.commits - before.commits;
  std::printf(
      "%-7s %8d records in %8.3f s: %9.0f records/s, %6lld commits, %7.1f "
      "records/commit, %.2f ms/commit\n",
      phase, records, absl::ToDoubleSeconds(took),
      records / absl::ToDoubleSeconds(took), static_cast<long long>(commits),
      commits > 0
          ? static_cast<double>(after.records - before.records) / commits
          : 0.0,
      commits > 0
          ? absl::ToDoubleMilliseconds(after.commit_time - before.commit_time) /
                commits
          : 0.0);
}

int Run(int n) {
  absl::StatusOr<std::unique_ptr<testing::PostgresServer>> server =
      testing::PostgresServer::Start();
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<std::string> db = (*server)->CreateDatabase();
  if (!db.ok()) return 1;
  absl::StatusOr<std::unique_ptr<PostgresJournal>> journal =
      PostgresJournal::Open({.conninfo = *db, .node = "bench"});
  if (!journal.ok()) {
    std::fprintf(stderr, "%s\n", journal.status().ToString().c_str());
    return 1;
  }
  PostgresJournal& j = **journal;
  google::protobuf::ListValue args;
  args.add_values()->set_number_value(7);
  const std::string serialized = args.SerializeAsString();
  std::printf("%d futures, one Accept, one Start and one End each\n", n);

  JournalStats before = j.Stats();
  absl::Time began = absl::Now();
  Countdown accepted(n);
  for (int i = 0; i < n; ++i) {
    j.Accept({AcceptedCall{.id = absl::StrCat("future-", i),
                           .principal = "",
                           .request_id = "",
                           .function = "square",
                           .pool = "thread",
                           .args = serialized,
                           .submit_time = absl::Now()}},
             accepted.Callback());
  }
  accepted.Wait();
  Report("accept", n, absl::Now() - began, before, j.Stats());

  before = j.Stats();
  began = absl::Now();
  Countdown started(n);
  for (int i = 0; i < n; ++i) {
    j.Start({absl::StrCat("future-", i)}, absl::Now(), 0,
            started.StartCallback());
  }
  started.Wait();
  Report("start", n, absl::Now() - began, before, j.Stats());

  before = j.Stats();
  began = absl::Now();
  Countdown ended(n);
  google::protobuf::Value value;
  value.set_number_value(49);
  for (int i = 0; i < n; ++i) {
    j.End(absl::StrCat("future-", i), FutureState::kFinished,
          FutureEnding{.outcome = value, .end_time = absl::Now()},
          ended.Callback());
  }
  ended.Wait();
  Report("end", n, absl::Now() - began, before, j.Stats());
  const int failed = accepted.failed() + started.failed() + ended.failed();
  if (failed > 0) std::printf("%d records failed\n", failed);
  j.Close();
  return failed > 0 ? 1 : 0;
}

}  // namespace
}  // namespace futured::server

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return futured::server::Run(absl::GetFlag(FLAGS_futures));
}
