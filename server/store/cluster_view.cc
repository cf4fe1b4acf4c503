#include "server/store/cluster_view.h"

#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace futured::server {
namespace {

// The nodes, their leases by the database's clock, in seconds since the
// epoch with microseconds.
constexpr char kNodesQuery[] =
    "SELECT name, epoch, "
    "(extract(epoch FROM lease_until) * 1000000)::bigint, "
    "lease_until > now(), (extract(epoch FROM joined) * 1000000)::bigint "
    "FROM futured_nodes ORDER BY name";

}  // namespace

ClusterView::ClusterView(Options options)
    : options_(std::move(options)), thread_([this] { Loop(); }) {}

ClusterView::~ClusterView() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

ClusterStats ClusterView::Snapshot() const {
  absl::MutexLock lock(&mu_);
  ClusterStats stats = stats_;
  stats.node = options_.node;
  return stats;
}

void ClusterView::NoteAdoption(int64_t futures) {
  absl::MutexLock lock(&mu_);
  ++stats_.adoptions;
  stats_.adopted_futures += futures;
}

void ClusterView::NoteClaim(int64_t futures) {
  absl::MutexLock lock(&mu_);
  ++stats_.claims;
  stats_.claimed_futures += futures;
}

void ClusterView::Loop() {
  while (true) {
    Refresh();
    absl::MutexLock lock(&mu_);
    if (mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.interval)) {
      return;
    }
  }
}

void ClusterView::Refresh() {
  std::vector<ClusterNodeStatus> nodes;
  absl::Duration round_trip;
  const absl::Status status = Read(&nodes, &round_trip);
  absl::MutexLock lock(&mu_);
  if (!status.ok()) {
    ++stats_.refresh_failures;
    stats_.error = std::string(status.message());
    return;
  }
  stats_.nodes = std::move(nodes);
  stats_.database_round_trip = round_trip;
  stats_.refreshed = absl::Now();
  stats_.error.clear();
}

absl::Status ClusterView::Read(std::vector<ClusterNodeStatus>* nodes,
                               absl::Duration* round_trip) {
  if (connection_ == nullptr) {
    absl::StatusOr<std::unique_ptr<PgConnection>> connected =
        PgConnection::Connect(options_.conninfo, options_.password,
                              absl::StrCat("futured ", options_.node, " view"));
    if (!connected.ok()) return connected.status();
    connection_ = *std::move(connected);
  } else if (!connection_->Usable()) {
    if (absl::Status s = connection_->Reconnect(); !s.ok()) return s;
  }
  const absl::Time sent = absl::Now();
  if (absl::StatusOr<PgRows> one = connection_->Run({"SELECT 1"}); !one.ok()) {
    return one.status();
  }
  *round_trip = absl::Now() - sent;
  absl::StatusOr<PgRows> rows = connection_->Run({kNodesQuery});
  if (!rows.ok()) return rows.status();
  for (int i = 0; i < rows->size(); ++i) {
    nodes->push_back({.name = rows->Text(i, 0),
                      .epoch = rows->Int(i, 1),
                      .lease_until = absl::FromUnixMicros(rows->Int(i, 2)),
                      .alive = rows->Text(i, 3) == "t",
                      .joined = absl::FromUnixMicros(rows->Int(i, 4))});
  }
  return absl::OkStatus();
}

}  // namespace futured::server
