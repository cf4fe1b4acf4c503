// GetStats and /metrics of a cluster node: the node, the cluster's nodes
// with their leases and epochs, adoptions and the database's round trip.
// Two real daemons on a real (throw-away) PostgreSQL database.
#include <sys/wait.h>

#include <csignal>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/executor_calls.h"
#include "tests/support/postgres_test.h"

namespace futured::testing {
namespace {

using ::futured::v1::ClusterNode;
using ::futured::v1::GetStatsResponse;

class ClusterStatsTest : public PostgresTest {
 protected:
  void TearDown() override {
    for (std::unique_ptr<DaemonProcess>& node : nodes_) {
      if (node == nullptr) continue;
      absl::StatusOr<int> status = node->Stop(SIGTERM);
      ASSERT_TRUE(status.ok()) << status.status();
      EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
    }
  }

  // Starts node `name` on TCP with an HTTP listener; returns its index.
  size_t StartNode(const std::string& name) {
    absl::StatusOr<std::unique_ptr<DaemonProcess>> process =
        DaemonProcess::Start(
            {.flags = {"--cluster=" + conninfo_, "--node_name=" + name,
                       "--cluster_lease=1s", "--http_listen=127.0.0.1:0"}});
    EXPECT_TRUE(process.ok()) << process.status();
    if (!process.ok()) return 0;
    nodes_.push_back(*std::move(process));
    return nodes_.size() - 1;
  }

  // GET /metrics of node `i` (its URL is the line after the listening one).
  std::string Metrics(size_t i) {
    absl::StatusOr<std::string> line = nodes_[i]->ReadStdoutLine();
    EXPECT_TRUE(line.ok()) << line.status();
    const std::string text = line.value_or("");
    absl::string_view url = text;
    EXPECT_TRUE(absl::ConsumePrefix(&url, "futured metrics on http://")) << url;
    EXPECT_TRUE(absl::ConsumeSuffix(&url, "/metrics"));
    const size_t colon = url.rfind(':');
    int port = 0;
    EXPECT_TRUE(absl::SimpleAtoi(url.substr(colon + 1), &port));
    httplib::Client client(std::string(url.substr(0, colon)), port);
    client.set_connection_timeout(30);
    client.set_read_timeout(30);
    httplib::Result response = client.Get("/metrics");
    EXPECT_TRUE(response) << httplib::to_string(response.error());
    return response ? response->body : "";
  }

  static const ClusterNode* NodeNamed(const GetStatsResponse& stats,
                                      const std::string& name) {
    for (const ClusterNode& node : stats.cluster().nodes()) {
      if (node.name() == name) return &node;
    }
    return nullptr;
  }

  std::vector<std::unique_ptr<DaemonProcess>> nodes_;
};

TEST_F(ClusterStatsTest, ShowsTheNodesTheirLeasesAndAnAdoption) {
  const size_t a = StartNode("a");
  const size_t b = StartNode("b");
  ASSERT_EQ(nodes_.size(), 2u);
  ExecutorCalls on_a(nodes_[a]->NewChannel());
  ExecutorCalls on_b(nodes_[b]->NewChannel());
  absl::StatusOr<GetStatsResponse> both = on_a.AwaitStats(
      [&](const GetStatsResponse& s) {
        return s.cluster().nodes_size() == 2 && NodeNamed(s, "b")->alive() &&
               NodeNamed(s, "a")->alive();
      },
      absl::Seconds(60));
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_EQ(both->cluster().node(), "a");
  EXPECT_GE(NodeNamed(*both, "a")->epoch(), 1);
  EXPECT_GT(NodeNamed(*both, "b")->lease_until().seconds(), 0);
  EXPECT_TRUE(both->cluster().has_database_round_trip());
  EXPECT_TRUE(both->cluster().has_refreshed());
  EXPECT_EQ(both->cluster().error(), "");
  EXPECT_EQ(both->cluster().adoptions(), 0);

  // b holds a future, then dies: a adopts it, and shows b's lease lapsed.
  std::string id;
  ASSERT_TRUE(on_b.Submit(CallOf("square", {NumberValue(3)}), &id).ok());
  ASSERT_TRUE(on_b.AwaitState(id, futured::v1::FUTURE_STATE_FINISHED).ok());
  absl::StatusOr<int> killed = nodes_[b]->Stop(SIGKILL);
  ASSERT_TRUE(killed.ok()) << killed.status();
  nodes_[b].reset();
  absl::StatusOr<GetStatsResponse> adopted = on_a.AwaitStats(
      [&](const GetStatsResponse& s) {
        const ClusterNode* node_b = NodeNamed(s, "b");
        return s.cluster().adoptions() == 1 && node_b != nullptr &&
               !node_b->alive() &&
               node_b->epoch() > NodeNamed(*both, "b")->epoch();
      },
      absl::Seconds(60));
  ASSERT_TRUE(adopted.ok()) << adopted.status();
  EXPECT_EQ(adopted->cluster().adopted_futures(), 1);

  const std::string metrics = Metrics(a);
  EXPECT_TRUE(
      absl::StrContains(metrics, "futured_cluster_node_info{node=\"a\"} 1\n"))
      << metrics;
  EXPECT_TRUE(
      absl::StrContains(metrics, "futured_cluster_node_alive{node=\"a\"} 1\n"));
  EXPECT_TRUE(
      absl::StrContains(metrics, "futured_cluster_node_alive{node=\"b\"} 0\n"));
  EXPECT_TRUE(
      absl::StrContains(metrics, "futured_cluster_adoptions_total 1\n"));
  EXPECT_TRUE(
      absl::StrContains(metrics, "futured_cluster_adopted_futures_total 1\n"));
  EXPECT_TRUE(absl::StrContains(
      metrics, "futured_cluster_node_lease_expiry_seconds{node=\"b\"} "));
  EXPECT_TRUE(absl::StrContains(
      metrics, "futured_cluster_database_round_trip_seconds "));
}

}  // namespace
}  // namespace futured::testing
