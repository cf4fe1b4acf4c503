#include "server/daemon/prometheus_text.h"

#include <algorithm>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace futured::server {
namespace {

using ::testing::HasSubstr;

DaemonFigures SomeFigures() {
  DaemonFigures figures;
  figures.pools.push_back(PoolStats{.name = "thread",
                                    .kind = "thread",
                                    .workers = 6,
                                    .queued = 2,
                                    .running = 1,
                                    .queue_capacity = 100,
                                    .worker_restarts = 0});
  FunctionStats square{
      .name = "square", .finished = 3, .failed = 1, .retried = 2};
  square.run_time_buckets.fill(4);
  square.run_count = 4;
  square.run_seconds_sum = 0.25;
  figures.functions.push_back(square);
  figures.futures = 7;
  figures.waiting_calls = 5;
  figures.start_time = absl::FromUnixSeconds(1700000000);
  figures.version = "1.2.3";
  return figures;
}

TEST(PrometheusTextTest, RendersEveryFamilyWithHelpAndType) {
  const std::string text = RenderPrometheusText(SomeFigures());
  for (const char* family :
       {"futured_pool_workers", "futured_pool_queued", "futured_pool_running",
        "futured_pool_worker_restarts_total", "futured_tasks_completed_total",
        "futured_task_retries_total", "futured_task_run_seconds",
        "futured_futures", "futured_waiting_calls"}) {
    EXPECT_THAT(text, HasSubstr(std::string("# TYPE ") + family + " "));
    EXPECT_THAT(text, HasSubstr(std::string("# HELP ") + family + " "));
  }
  EXPECT_THAT(
      text,
      HasSubstr("futured_pool_queued{pool=\"thread\",kind=\"thread\"} 2\n"));
  EXPECT_THAT(text,
              HasSubstr("futured_tasks_completed_total{function=\"square\","
                        "outcome=\"failed\"} 1\n"));
  EXPECT_THAT(text,
              HasSubstr("futured_task_retries_total{function=\"square\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("futured_task_run_seconds_bucket{function="
                              "\"square\",le=\"0.005\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("futured_task_run_seconds_bucket{function="
                              "\"square\",le=\"+Inf\"} 4\n"));
  EXPECT_THAT(text, HasSubstr("futured_task_run_seconds_sum{function="
                              "\"square\"} 0.25\n"));
  EXPECT_THAT(text, HasSubstr("futured_futures 7\n"));
  EXPECT_THAT(text, HasSubstr("futured_waiting_calls 5\n"));
  EXPECT_THAT(text, HasSubstr("futured_build_info{version=\"1.2.3\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("futured_start_time_seconds 1700000000\n"));
}

TEST(PrometheusTextTest, EveryLineIsACommentOrNameLabelsValue) {
  for (absl::string_view line : absl::StrSplit(
           RenderPrometheusText(SomeFigures()), '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "# HELP ") ||
        absl::StartsWith(line, "# TYPE ")) {
      continue;
    }
    EXPECT_TRUE(absl::StartsWith(line, "futured_")) << line;
    EXPECT_EQ(std::count(line.begin(), line.end(), ' '), 1) << line;
  }
}

TEST(PrometheusTextTest, RendersTheClusterOnlyInClusterMode) {
  DaemonFigures figures = SomeFigures();
  EXPECT_THAT(RenderPrometheusText(figures),
              ::testing::Not(HasSubstr("futured_cluster_")));
  figures.cluster =
      ClusterStats{.node = "a",
                   .nodes = {{.name = "a",
                              .epoch = 3,
                              .lease_until = absl::FromUnixSeconds(1700000010),
                              .alive = true},
                             {.name = "b",
                              .epoch = 5,
                              .lease_until = absl::FromUnixSeconds(1700000001),
                              .alive = false}},
                   .database_round_trip = absl::Microseconds(250),
                   .adoptions = 1,
                   .adopted_futures = 20,
                   .claims = 2,
                   .claimed_futures = 9};
  const std::string text = RenderPrometheusText(figures);
  EXPECT_THAT(text, HasSubstr("futured_cluster_node_info{node=\"a\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("futured_cluster_node_epoch{node=\"b\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("futured_cluster_node_alive{node=\"a\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("futured_cluster_node_alive{node=\"b\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("futured_cluster_node_lease_expiry_seconds{node="
                              "\"a\"} 1700000010.000000\n"));
  EXPECT_THAT(
      text, HasSubstr("futured_cluster_database_round_trip_seconds 0.00025\n"));
  EXPECT_THAT(text, HasSubstr("futured_cluster_adoptions_total 1\n"));
  EXPECT_THAT(text, HasSubstr("futured_cluster_adopted_futures_total 20\n"));
  EXPECT_THAT(text, HasSubstr("futured_cluster_claims_total 2\n"));
  EXPECT_THAT(text, HasSubstr("futured_cluster_claimed_futures_total 9\n"));
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (absl::StartsWith(line, "#")) continue;
    EXPECT_EQ(std::count(line.begin(), line.end(), ' '), 1) << line;
  }
}

TEST(PrometheusTextTest, LabelValuesAreEscaped) {
  DaemonFigures figures;
  figures.functions.push_back(FunctionStats{.name = "odd\"name\\x\n"});
  const std::string text = RenderPrometheusText(figures);
  EXPECT_THAT(text, HasSubstr("function=\"odd\\\"name\\\\x\\n\""));
}

}  // namespace
}  // namespace futured::server
