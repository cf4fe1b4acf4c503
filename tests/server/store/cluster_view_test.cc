// ClusterView against a real, throw-away PostgreSQL server and real
// PostgresJournal nodes.
#include "server/store/cluster_view.h"

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/store/postgres_journal.h"
#include "tests/poll_until.h"
#include "tests/support/postgres_server.h"
#include "tests/support/postgres_test.h"

namespace futured::server {
namespace {

using ::futured::testing::PollUntil;
using ::futured::testing::PostgresServer;

class ClusterViewTest : public ::futured::testing::PostgresTest {
 protected:
  std::unique_ptr<PostgresJournal> Join(const std::string& node) {
    absl::StatusOr<std::unique_ptr<PostgresJournal>> journal =
        PostgresJournal::Open({.conninfo = conninfo_,
                               .node = node,
                               .lease = absl::Seconds(10),
                               .join_wait = absl::Seconds(1)});
    EXPECT_TRUE(journal.ok()) << journal.status();
    return journal.ok() ? *std::move(journal) : nullptr;
  }

  // Waits for a refresh after now that saw `nodes` nodes.
  ClusterStats AwaitNodes(ClusterView& view, size_t nodes) {
    const absl::Time after = absl::Now();
    ClusterStats stats;
    EXPECT_TRUE(PollUntil([&] {
      stats = view.Snapshot();
      return stats.refreshed.has_value() && *stats.refreshed > after &&
             stats.nodes.size() == nodes;
    })) << stats.error;
    return stats;
  }
};

TEST_F(ClusterViewTest, ShowsEveryNodeWithItsLeaseAndTheRoundTrip) {
  std::unique_ptr<PostgresJournal> a = Join("a");
  std::unique_ptr<PostgresJournal> b = Join("b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ClusterView view(
      {.conninfo = conninfo_, .node = "a", .interval = absl::Milliseconds(50)});
  const ClusterStats stats = AwaitNodes(view, 2);
  EXPECT_EQ(stats.node, "a");
  ASSERT_EQ(stats.nodes.size(), 2u);
  EXPECT_EQ(stats.nodes[0].name, "a");
  EXPECT_EQ(stats.nodes[0].epoch, a->epoch());
  EXPECT_EQ(stats.nodes[1].name, "b");
  EXPECT_EQ(stats.nodes[1].epoch, b->epoch());
  for (const ClusterNodeStatus& node : stats.nodes) {
    EXPECT_TRUE(node.alive) << node.name;
    EXPECT_GT(node.lease_until, node.joined) << node.name;
  }
  EXPECT_GT(stats.database_round_trip, absl::ZeroDuration());
  EXPECT_TRUE(stats.error.empty()) << stats.error;
}

TEST_F(ClusterViewTest, ALapsedLeaseShowsAsNotAlive) {
  std::unique_ptr<PostgresJournal> a = Join("a");
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(PostgresServer::Execute(
                  conninfo_,
                  "INSERT INTO futured_nodes VALUES "
                  "('gone', 7, now() - interval '1 minute', now() - "
                  "interval '2 minutes')")
                  .ok());
  ClusterView view(
      {.conninfo = conninfo_, .node = "a", .interval = absl::Milliseconds(50)});
  const ClusterStats stats = AwaitNodes(view, 2);
  ASSERT_EQ(stats.nodes.size(), 2u);
  EXPECT_TRUE(stats.nodes[0].alive);
  EXPECT_EQ(stats.nodes[1].name, "gone");
  EXPECT_EQ(stats.nodes[1].epoch, 7);
  EXPECT_FALSE(stats.nodes[1].alive);
}

TEST_F(ClusterViewTest, CountsAdoptionsAndClaims) {
  ClusterView view({.conninfo = conninfo_, .node = "a"});
  view.NoteAdoption(20);
  view.NoteAdoption(3);
  view.NoteClaim(4);
  const ClusterStats stats = view.Snapshot();
  EXPECT_EQ(stats.adoptions, 2);
  EXPECT_EQ(stats.adopted_futures, 23);
  EXPECT_EQ(stats.claims, 1);
  EXPECT_EQ(stats.claimed_futures, 4);
}

// The database stopped: the view says so, keeps the last nodes, and
// recovers when the database is back.
TEST_F(ClusterViewTest, ReportsALostDatabaseAndRecovers) {
  std::unique_ptr<PostgresJournal> a = Join("a");
  ASSERT_NE(a, nullptr);
  ClusterView view(
      {.conninfo = conninfo_, .node = "a", .interval = absl::Milliseconds(50)});
  AwaitNodes(view, 1);
  ASSERT_TRUE(server_->Stop().ok());
  ClusterStats stats;
  EXPECT_TRUE(PollUntil([&] {
    stats = view.Snapshot();
    return !stats.error.empty();
  }));
  EXPECT_GE(stats.refresh_failures, 1);
  EXPECT_EQ(stats.nodes.size(), 1u);
  ASSERT_TRUE(server_->Resume().ok());
  stats = AwaitNodes(view, 1);
  EXPECT_TRUE(stats.error.empty()) << stats.error;
}

}  // namespace
}  // namespace futured::server
