#include "server/daemon/dashboard_json.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace futured::server {
namespace {

using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::testing::HasSubstr;

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

// Parses `json` back, failing the test if it is not a JSON object.
Struct Parse(const std::string& json) {
  Struct parsed;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok())
      << json;
  return parsed;
}

const Value& Field(const Struct& s, const std::string& name) {
  static const Value kMissing;
  auto it = s.fields().find(name);
  EXPECT_NE(it, s.fields().end()) << "no field " << name;
  return it == s.fields().end() ? kMissing : it->second;
}

FutureSnapshot Failed() {
  FutureSnapshot s;
  s.id = "f1";
  s.function = "fail";
  s.pool = "thread";
  s.state = FutureState::kFinished;
  s.outcome = TaskError{.type = "ValueError", .message = "bad \"input\"\n<b>"};
  s.submit_time = kT0;
  s.start_time = kT0 + absl::Seconds(1);
  s.end_time = kT0 + absl::Seconds(3);
  return s;
}

TEST(FutureStatusTest, NamesWhatAPersonSees) {
  FutureSnapshot s = Failed();
  EXPECT_EQ(FutureStatus(s), "failed");
  s.outcome = Value();
  EXPECT_EQ(FutureStatus(s), "finished");
  s.state = FutureState::kCancelled;
  EXPECT_EQ(FutureStatus(s), "cancelled");
  s.state = FutureState::kRunning;
  EXPECT_EQ(FutureStatus(s), "running");
  s.state = FutureState::kPending;
  EXPECT_EQ(FutureStatus(s), "pending");
}

TEST(FutureJsonTest, AFailedFutureCarriesItsErrorTimesAndRunTime) {
  const Struct f = Parse(FutureJson(Failed(), kT0 + absl::Hours(1)));
  EXPECT_EQ(Field(f, "id").string_value(), "f1");
  EXPECT_EQ(Field(f, "status").string_value(), "failed");
  const Struct& error = Field(f, "error").struct_value();
  EXPECT_EQ(Field(error, "type").string_value(), "ValueError");
  // Escaped in JSON, and back intact.
  EXPECT_EQ(Field(error, "message").string_value(), "bad \"input\"\n<b>");
  EXPECT_EQ(Field(f, "submit_time").string_value(), "2023-11-14T22:13:20.000Z");
  EXPECT_DOUBLE_EQ(Field(f, "run_seconds").number_value(), 2);
  EXPECT_EQ(Field(f, "worker_pid").kind_case(), Value::kNullValue);
  EXPECT_EQ(Field(f, "deadline").kind_case(), Value::kNullValue);
}

TEST(FutureJsonTest, ARetriedFutureShowsItsAttemptAndEarlierErrors) {
  FutureSnapshot s = Failed();
  s.attempt = 2;
  s.max_attempts = 3;
  s.earlier_attempts = {
      AttemptError{.attempt = 1,
                   .error = {.type = "WorkerDiedError", .message = "gone"},
                   .end_time = kT0}};
  const Struct f = Parse(FutureJson(s, kT0));
  EXPECT_DOUBLE_EQ(Field(f, "attempt").number_value(), 2);
  EXPECT_DOUBLE_EQ(Field(f, "max_attempts").number_value(), 3);
  const auto& earlier = Field(f, "earlier_attempts").list_value();
  ASSERT_EQ(earlier.values_size(), 1);
  const Struct& first = earlier.values(0).struct_value();
  EXPECT_DOUBLE_EQ(Field(first, "attempt").number_value(), 1);
  EXPECT_EQ(Field(first, "type").string_value(), "WorkerDiedError");
  EXPECT_EQ(Field(first, "message").string_value(), "gone");
}

TEST(FutureJsonTest, ARunningFutureShowsProgressAndRunTimeSoFar) {
  FutureSnapshot s;
  s.id = "f2";
  s.function = "sleep";
  s.pool = "process";
  s.state = FutureState::kRunning;
  s.submit_time = kT0;
  s.start_time = kT0;
  s.worker_pid = 4242;
  s.progress =
      Progress{.fraction = 0.25, .message = "a quarter", .update_time = kT0};
  const Struct f = Parse(FutureJson(s, kT0 + absl::Seconds(5)));
  EXPECT_DOUBLE_EQ(Field(f, "run_seconds").number_value(), 5);
  EXPECT_DOUBLE_EQ(Field(f, "worker_pid").number_value(), 4242);
  const Struct& progress = Field(f, "progress").struct_value();
  EXPECT_DOUBLE_EQ(Field(progress, "fraction").number_value(), 0.25);
  EXPECT_EQ(Field(progress, "message").string_value(), "a quarter");
  EXPECT_EQ(Field(f, "end_time").kind_case(), Value::kNullValue);
}

TEST(FutureListJsonTest, ListsEachFutureAndCounts) {
  const Struct list = Parse(FutureListJson({Failed(), Failed()}, 7, kT0));
  EXPECT_EQ(Field(list, "futures").list_value().values_size(), 2);
  EXPECT_DOUBLE_EQ(Field(list, "matched").number_value(), 2);
  EXPECT_DOUBLE_EQ(Field(list, "scanned").number_value(), 7);
}

TEST(OverviewJsonTest, ShowsPoolsWorkersFunctionsAndThroughput) {
  OverviewFigures figures;
  figures.principal = "alice";
  figures.now = kT0;
  PoolFigures pool{.stats = {.name = "process",
                             .kind = "process",
                             .workers = 2,
                             .queued = 3,
                             .running = 1,
                             .worker_restarts = 4},
                   .workers = {}};
  FutureSnapshot running = Failed();
  running.state = FutureState::kRunning;
  running.outcome.reset();
  running.end_time.reset();
  pool.workers.push_back({.pid = 11, .busy = true, .task = running});
  pool.workers.push_back({.pid = 12, .busy = true, .task = std::nullopt});
  figures.pools.push_back(pool);
  FunctionStats fn;
  fn.name = "sleep";
  fn.finished = 5;
  fn.run_time_buckets.fill(5);  // every run at most 1 ms
  fn.run_count = 5;
  figures.functions.push_back(fn);
  figures.throughput.push_back({.end = kT0, .per_second = 12.5});

  const Struct o = Parse(OverviewJson(figures));
  EXPECT_EQ(Field(o, "principal").string_value(), "alice");
  const Struct& p = Field(o, "pools").list_value().values(0).struct_value();
  EXPECT_DOUBLE_EQ(Field(p, "worker_restarts").number_value(), 4);
  const auto& workers = Field(p, "worker_list").list_value();
  ASSERT_EQ(workers.values_size(), 2);
  const Struct& busy = workers.values(0).struct_value();
  EXPECT_DOUBLE_EQ(Field(busy, "pid").number_value(), 11);
  EXPECT_EQ(
      Field(Field(busy, "task").struct_value(), "function").string_value(),
      "fail");
  // Another principal's task: busy, nothing more.
  const Struct& hidden = workers.values(1).struct_value();
  EXPECT_TRUE(Field(hidden, "busy").bool_value());
  EXPECT_EQ(Field(hidden, "task").kind_case(), Value::kNullValue);
  const Struct& f = Field(o, "functions").list_value().values(0).struct_value();
  EXPECT_DOUBLE_EQ(Field(f, "finished").number_value(), 5);
  EXPECT_DOUBLE_EQ(Field(f, "p50_seconds").number_value(), 0.0005);
  const Struct& rate =
      Field(o, "throughput").list_value().values(0).struct_value();
  EXPECT_DOUBLE_EQ(Field(rate, "per_second").number_value(), 12.5);
}

TEST(OverviewJsonTest, ShowsTheJournalOnlyWhenThereIsOne) {
  OverviewFigures figures;
  figures.now = kT0;
  EXPECT_FALSE(Parse(OverviewJson(figures)).fields().contains("journal"));
  figures.journal = JournalStats{.path = "/var/lib/futured/futured.db",
                                 .commits = 4,
                                 .records = 1000,
                                 .failed_commits = 1,
                                 .commit_time = absl::Milliseconds(3),
                                 .file_bytes = 65536};
  const Struct o = Parse(OverviewJson(figures));
  const Struct& j = Field(o, "journal").struct_value();
  EXPECT_EQ(Field(j, "path").string_value(), "/var/lib/futured/futured.db");
  EXPECT_DOUBLE_EQ(Field(j, "commits").number_value(), 4);
  EXPECT_DOUBLE_EQ(Field(j, "records").number_value(), 1000);
  EXPECT_DOUBLE_EQ(Field(j, "failed_commits").number_value(), 1);
  EXPECT_DOUBLE_EQ(Field(j, "commit_seconds").number_value(), 0.003);
  EXPECT_DOUBLE_EQ(Field(j, "file_bytes").number_value(), 65536);
}

TEST(ErrorJsonTest, IsAnObjectWithTheMessage) {
  const Struct e = Parse(ErrorJson("future \"x\" not found"));
  EXPECT_EQ(Field(e, "error").string_value(), "future \"x\" not found");
}

TEST(ParseFutureFilterTest, TakesStateFunctionAndLimit) {
  absl::StatusOr<FutureFilter> filter =
      ParseFutureFilter("FAILED", "sleep", "5");
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_EQ(filter->status, "failed");
  EXPECT_EQ(filter->function, "sleep");
  EXPECT_EQ(filter->limit, 5u);
  EXPECT_TRUE(filter->Matches([] {
    FutureSnapshot s = Failed();
    s.function = "sleep";
    return s;
  }()));
  EXPECT_FALSE(filter->Matches(Failed()));  // "fail", not "sleep"
}

TEST(ParseFutureFilterTest, NothingGivenMatchesEverything) {
  absl::StatusOr<FutureFilter> filter = ParseFutureFilter("", "", "");
  ASSERT_TRUE(filter.ok());
  EXPECT_EQ(filter->limit, 100u);
  EXPECT_TRUE(filter->Matches(Failed()));
}

TEST(ParseFutureFilterTest, RefusesBadValuesQuotingOnlyAShortPrefix) {
  const std::string long_state(5000, 'x');
  absl::StatusOr<FutureFilter> bad = ParseFutureFilter(long_state, "", "");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_LT(bad.status().message().size(), 200u);
  for (const char* limit :
       {"0", "-1", "1001", "ten", "1e3", "99999999999999"}) {
    EXPECT_EQ(ParseFutureFilter("", "", limit).status().code(),
              absl::StatusCode::kInvalidArgument)
        << limit;
  }
  EXPECT_EQ(ParseFutureFilter("", std::string(300, 'f'), "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(ParseFutureFilter("done", "", "").status().message()),
              HasSubstr("'done'"));
}

TEST(IsWellFormedFutureIdTest, AcceptsUuidsAndRefusesTheRest) {
  EXPECT_TRUE(IsWellFormedFutureId("4b3f0c2e-9a51-4d7e-8f06-1c2d3e4f5a6b"));
  EXPECT_FALSE(IsWellFormedFutureId(""));
  EXPECT_FALSE(IsWellFormedFutureId("../etc/passwd"));
  EXPECT_FALSE(IsWellFormedFutureId(std::string(37, 'a')));
  EXPECT_FALSE(IsWellFormedFutureId("a b"));
  EXPECT_FALSE(IsWellFormedFutureId(std::string("a\0b", 3)));
}

}  // namespace
}  // namespace futured::server
