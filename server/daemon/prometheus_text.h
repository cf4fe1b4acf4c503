// The daemon's figures in Prometheus' text exposition format (version 0.0.4).
#ifndef FUTURED_SERVER_DAEMON_PROMETHEUS_TEXT_H_
#define FUTURED_SERVER_DAEMON_PROMETHEUS_TEXT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "server/engine/task_metrics.h"
#include "server/pools/pool.h"
#include "server/store/cluster_view.h"
#include "server/store/journal.h"

namespace futured::server {

// Everything /metrics shows, gathered at one scrape; GetStats carries the
// same figures.
struct DaemonFigures {
  std::vector<PoolStats> pools;
  std::vector<FunctionStats> functions;
  int64_t futures = 0;        // in the future table
  int64_t waiting_calls = 0;  // RPCs waiting on futures
  absl::Time start_time;
  std::string version;
  std::optional<JournalStats> journal;  // unset without a journal
  std::optional<ClusterStats> cluster;  // unset without --cluster
};

// Renders `figures` as futured_* metric families, each with HELP and TYPE
// lines. A pure function.
std::string RenderPrometheusText(const DaemonFigures& figures);

}  // namespace futured::server

#endif  // FUTURED_SERVER_DAEMON_PROMETHEUS_TEXT_H_
