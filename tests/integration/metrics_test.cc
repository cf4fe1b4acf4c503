// The Prometheus endpoint (--metrics_listen) of the real daemon: it is off
// by default, its counters and histograms move as tasks run, and GetStats
// carries the same figures.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "futured/v1/executor.grpc.pb.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/integration/daemon_test.h"

namespace futured::testing {
namespace {

// One scrape: "name{labels}" -> value, for every sample line. Minimal
// parsing of the text format: comments skipped, the value after the last
// space.
using Samples = std::map<std::string, double>;

absl::StatusOr<Samples> ParseSamples(const std::string& text) {
  Samples samples;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || absl::StartsWith(line, "#")) continue;
    const size_t space = line.rfind(' ');
    double value = 0;
    if (space == absl::string_view::npos ||
        !absl::SimpleAtod(line.substr(space + 1), &value)) {
      return absl::InvalidArgumentError(absl::StrCat("bad line: ", line));
    }
    samples[std::string(line.substr(0, space))] = value;
  }
  return samples;
}

class MetricsTest : public DaemonTest {
 protected:
  // Starts futured with a metrics port and reads its URL from stdout.
  void StartWithMetrics(std::vector<std::string> flags = {}) {
    flags.push_back("--metrics_listen=127.0.0.1:0");
    ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false, flags));
    absl::StatusOr<std::string> line = daemon_->ReadStdoutLine();
    ASSERT_TRUE(line.ok()) << line.status();
    absl::string_view url = *line;
    ASSERT_TRUE(absl::ConsumePrefix(&url, "futured metrics on http://"))
        << *line;
    ASSERT_TRUE(absl::ConsumeSuffix(&url, "/metrics")) << *line;
    host_port_ = std::string(url);
  }

  // GET /metrics, parsed. Adds a failure and returns nothing on error.
  Samples Scrape() {
    const size_t colon = host_port_.rfind(':');
    int port = 0;
    EXPECT_TRUE(absl::SimpleAtoi(host_port_.substr(colon + 1), &port));
    httplib::Client client(host_port_.substr(0, colon), port);
    client.set_connection_timeout(30);
    client.set_read_timeout(30);
    httplib::Result response = client.Get("/metrics");
    if (!response) {
      ADD_FAILURE() << "GET /metrics: " << httplib::to_string(response.error());
      return {};
    }
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(absl::StartsWith(response->get_header_value("Content-Type"),
                                 "text/plain; version=0.0.4"));
    absl::StatusOr<Samples> samples = ParseSamples(response->body);
    EXPECT_TRUE(samples.ok()) << samples.status();
    return samples.value_or(Samples());
  }

  std::string host_port_;
};

std::string Completed(absl::string_view function, absl::string_view outcome) {
  return absl::StrCat("futured_tasks_completed_total{function=\"", function,
                      "\",outcome=\"", outcome, "\"}");
}

std::string RunTime(absl::string_view suffix, absl::string_view function,
                    absl::string_view le = "") {
  return absl::StrCat("futured_task_run_seconds", suffix, "{function=\"",
                      function, "\"",
                      le.empty() ? "" : absl::StrCat(",le=\"", le, "\""), "}");
}

TEST_F(MetricsTest, CountersAndHistogramsMoveAsTasksRun) {
  ASSERT_NO_FATAL_FAILURE(StartWithMetrics({"--threads=2"}));
  Samples before = Scrape();
  EXPECT_EQ(before["futured_pool_workers{pool=\"thread\",kind=\"thread\"}"], 2);
  EXPECT_EQ(before.count(Completed("square", "finished")), 0u);
  EXPECT_EQ(before["futured_futures"], 0);

  // A running task shows in the pool's gauge and a waiting Result call.
  const std::string sleeping = MustSubmit(CallOf("sleep", {NumberValue(3600)}));
  MustAwaitState(sleeping, v1::FUTURE_STATE_RUNNING);
  Samples during = Scrape();
  EXPECT_EQ(during["futured_pool_running{pool=\"thread\",kind=\"thread\"}"], 1);

  for (int i = 0; i < 3; ++i) {
    MustResult(MustSubmit(CallOf("square", {NumberValue(i)})));
  }
  for (int i = 0; i < 2; ++i) {
    MustResult(MustSubmit(CallOf("fail", {StringValue("ValueError")})));
  }
  MustCancel(sleeping);
  MustAwaitState(sleeping, v1::FUTURE_STATE_CANCELLED);

  Samples after = Scrape();
  EXPECT_EQ(after[Completed("square", "finished")], 3);
  EXPECT_EQ(after[Completed("square", "failed")], 0);
  EXPECT_EQ(after[Completed("fail", "failed")], 2);
  EXPECT_EQ(after[Completed("sleep", "cancelled")], 1);
  EXPECT_EQ(after[RunTime("_count", "square")], 3);
  EXPECT_EQ(after[RunTime("_bucket", "square", "+Inf")], 3);
  EXPECT_GE(after[RunTime("_sum", "square")], 0);
  // Buckets are cumulative: each at least the one before, none above +Inf.
  double previous = 0;
  for (const char* le : {"0.001", "0.005", "0.01", "0.05", "0.1", "0.5", "1",
                         "5", "10", "30", "60", "300"}) {
    const std::string key = RunTime("_bucket", "square", le);
    ASSERT_EQ(after.count(key), 1u) << key;
    EXPECT_GE(after[key], previous) << key;
    previous = after[key];
  }
  EXPECT_LE(previous, 3);
  EXPECT_EQ(after[RunTime("_count", "sleep")], 1);
  EXPECT_EQ(after["futured_pool_running{pool=\"thread\",kind=\"thread\"}"], 0);
  EXPECT_EQ(after["futured_futures"], 6);

  // GetStats tells the same.
  v1::GetStatsResponse stats = MustAwaitStats(
      [](const v1::GetStatsResponse& s) { return s.functions_size() == 3; });
  std::map<std::string, v1::FunctionStats> by_name;
  for (const v1::FunctionStats& f : stats.functions())
    by_name[f.function()] = f;
  EXPECT_EQ(by_name["square"].finished(), 3);
  EXPECT_EQ(by_name["fail"].failed(), 2);
  EXPECT_EQ(by_name["sleep"].cancelled(), 1);
  EXPECT_EQ(by_name["square"].run_count(), 3);
  ASSERT_EQ(by_name["square"].run_time_buckets_size(), 12);
  EXPECT_EQ(by_name["square"].run_time_buckets(11).le(), 300);
  EXPECT_EQ(by_name["square"].run_time_buckets(11).count(),
            after[RunTime("_bucket", "square", "300")]);
  EXPECT_FALSE(stats.version().empty());
}

TEST_F(MetricsTest, WorkerRestartsAreCounted) {
  ASSERT_NO_FATAL_FAILURE(StartWithMetrics({"--processes=1"}));
  v1::SubmitRequest crash = CallOf("crash", {StringValue("abort")});
  crash.set_pool("process");
  v1::FutureInfo info = MustResult(MustSubmit(crash));
  EXPECT_EQ(info.outcome().error().type(), "WorkerDiedError");
  MustAwaitStats([](const v1::GetStatsResponse& s) {
    for (const auto& pool : s.pools()) {
      if (pool.name() == "process") return pool.worker_restarts() == 1;
    }
    return false;
  });
  Samples samples = Scrape();
  EXPECT_EQ(samples["futured_pool_worker_restarts_total{pool=\"process\","
                    "kind=\"process\"}"],
            1);
  EXPECT_EQ(samples[Completed("crash", "failed")], 1);
}

TEST_F(MetricsTest, OffByDefault) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false));
  // Nothing follows the listening line: no metrics server was started.
  absl::StatusOr<std::string> line = daemon_->ReadStdoutLine(absl::Seconds(1));
  EXPECT_FALSE(line.ok()) << *line;
}

}  // namespace
}  // namespace futured::testing
