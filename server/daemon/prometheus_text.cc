#include "server/daemon/prometheus_text.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"

namespace futured::server {
namespace {

// A label value with \, " and newline escaped, as the format requires.
std::string Quoted(absl::string_view value) {
  return absl::StrCat(
      "\"",
      absl::StrReplaceAll(value,
                          {{"\\", "\\\\"}, {"\"", "\\\""}, {"\n", "\\n"}}),
      "\"");
}

void Family(std::string& out, absl::string_view name, absl::string_view type,
            absl::string_view help) {
  absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ",
                  type, "\n");
}

void PoolFamily(std::string& out, const std::vector<PoolStats>& pools,
                absl::string_view name, absl::string_view type,
                absl::string_view help, int64_t PoolStats::*field) {
  Family(out, name, type, help);
  for (const PoolStats& pool : pools) {
    absl::StrAppend(&out, name, "{pool=", Quoted(pool.name),
                    ",kind=", Quoted(pool.kind), "} ", pool.*field, "\n");
  }
}

void JournalFamilies(std::string& out, const JournalStats& journal) {
  Family(out, "futured_journal_commits_total", "counter",
         "Transactions the journal committed.");
  absl::StrAppend(&out, "futured_journal_commits_total ", journal.commits,
                  "\n");
  Family(out, "futured_journal_records_total", "counter",
         "Records in them: accepts, starts, ends and deletes of futures.");
  absl::StrAppend(&out, "futured_journal_records_total ", journal.records,
                  "\n");
  Family(out, "futured_journal_commit_failures_total", "counter",
         "Journal transactions that failed (e.g. a full disk).");
  absl::StrAppend(&out, "futured_journal_commit_failures_total ",
                  journal.failed_commits, "\n");
  Family(out, "futured_journal_commit_seconds_total", "counter",
         "Time spent committing the journal.");
  absl::StrAppend(&out, "futured_journal_commit_seconds_total ",
                  absl::ToDoubleSeconds(journal.commit_time), "\n");
  Family(out, "futured_journal_file_bytes", "gauge",
         "Size of the journal's database and write-ahead log.");
  absl::StrAppend(&out, "futured_journal_file_bytes ", journal.file_bytes,
                  "\n");
}

// One gauge per node of the cluster, labelled with its name.
void NodeFamily(std::string& out, const ClusterStats& cluster,
                absl::string_view name, absl::string_view help,
                std::string (*value)(const ClusterNodeStatus&)) {
  Family(out, name, "gauge", help);
  for (const ClusterNodeStatus& node : cluster.nodes) {
    absl::StrAppend(&out, name, "{node=", Quoted(node.name), "} ", value(node),
                    "\n");
  }
}

void ClusterFamilies(std::string& out, const ClusterStats& cluster) {
  Family(out, "futured_cluster_node_info", "gauge",
         "Always 1; this node's name in the cluster.");
  absl::StrAppend(&out, "futured_cluster_node_info{node=", Quoted(cluster.node),
                  "} 1\n");
  NodeFamily(out, cluster, "futured_cluster_node_lease_expiry_seconds",
             "Until when each node's lease holds (database clock), in "
             "seconds since the epoch.",
             [](const ClusterNodeStatus& n) {
               // Microseconds: StrCat's six digits would print 1.7e+09.
               return absl::StrFormat(
                   "%.6f",
                   absl::ToDoubleSeconds(n.lease_until - absl::UnixEpoch()));
             });
  NodeFamily(out, cluster, "futured_cluster_node_epoch",
             "Each node's epoch: raised at each (re)join and adoption.",
             [](const ClusterNodeStatus& n) { return absl::StrCat(n.epoch); });
  NodeFamily(out, cluster, "futured_cluster_node_alive",
             "1 if the node's lease had not lapsed at the last refresh.",
             [](const ClusterNodeStatus& n) {
               return std::string(n.alive ? "1" : "0");
             });
  Family(out, "futured_cluster_database_round_trip_seconds", "gauge",
         "Round trip of one small statement to PostgreSQL at the last "
         "refresh.");
  absl::StrAppend(&out, "futured_cluster_database_round_trip_seconds ",
                  absl::ToDoubleSeconds(cluster.database_round_trip), "\n");
  Family(out, "futured_cluster_refresh_failures_total", "counter",
         "Refreshes of the cluster view that could not read the database.");
  absl::StrAppend(&out, "futured_cluster_refresh_failures_total ",
                  cluster.refresh_failures, "\n");
  Family(out, "futured_cluster_adoptions_total", "counter",
         "Lost nodes whose futures this node took over.");
  absl::StrAppend(&out, "futured_cluster_adoptions_total ", cluster.adoptions,
                  "\n");
  Family(out, "futured_cluster_adopted_futures_total", "counter",
         "Futures this node took over from lost nodes.");
  absl::StrAppend(&out, "futured_cluster_adopted_futures_total ",
                  cluster.adopted_futures, "\n");
  Family(out, "futured_cluster_claims_total", "counter",
         "Looks of this node, idle, that took pending work busy nodes left.");
  absl::StrAppend(&out, "futured_cluster_claims_total ", cluster.claims, "\n");
  Family(out, "futured_cluster_claimed_futures_total", "counter",
         "Futures this node, idle, took from busy live nodes.");
  absl::StrAppend(&out, "futured_cluster_claimed_futures_total ",
                  cluster.claimed_futures, "\n");
}

void Outcomes(std::string& out, const std::vector<FunctionStats>& functions) {
  constexpr absl::string_view kName = "futured_tasks_completed_total";
  Family(out, kName, "counter", "Done futures by function and outcome.");
  for (const FunctionStats& f : functions) {
    for (const auto& [outcome, count] :
         {std::pair<absl::string_view, int64_t>{"finished", f.finished},
          {"failed", f.failed},
          {"cancelled", f.cancelled}}) {
      absl::StrAppend(&out, kName, "{function=", Quoted(f.name),
                      ",outcome=", Quoted(outcome), "} ", count, "\n");
    }
  }
}

void Retries(std::string& out, const std::vector<FunctionStats>& functions) {
  constexpr absl::string_view kName = "futured_task_retries_total";
  Family(out, kName, "counter",
         "Attempts that failed and were tried again (retry policies), by "
         "function.");
  for (const FunctionStats& f : functions) {
    absl::StrAppend(&out, kName, "{function=", Quoted(f.name), "} ", f.retried,
                    "\n");
  }
}

void RunTimes(std::string& out, const std::vector<FunctionStats>& functions) {
  constexpr absl::string_view kName = "futured_task_run_seconds";
  Family(out, kName, "histogram",
         "How long tasks ran, start to end, by function.");
  for (const FunctionStats& f : functions) {
    const std::string function = Quoted(f.name);
    for (size_t i = 0; i < kRunTimeBuckets.size(); ++i) {
      absl::StrAppend(&out, kName, "_bucket{function=", function, ",le=\"",
                      kRunTimeBuckets[i], "\"} ", f.run_time_buckets[i], "\n");
    }
    absl::StrAppend(&out, kName, "_bucket{function=", function,
                    ",le=\"+Inf\"} ", f.run_count, "\n", kName,
                    "_sum{function=", function, "} ", f.run_seconds_sum, "\n",
                    kName, "_count{function=", function, "} ", f.run_count,
                    "\n");
  }
}

}  // namespace

std::string RenderPrometheusText(const DaemonFigures& figures) {
  std::string out;
  Family(out, "futured_build_info", "gauge", "Always 1; the version label.");
  absl::StrAppend(&out, "futured_build_info{version=", Quoted(figures.version),
                  "} 1\n");
  Family(out, "futured_start_time_seconds", "gauge",
         "When the daemon started, in seconds since the epoch.");
  absl::StrAppend(&out, "futured_start_time_seconds ",
                  absl::ToUnixSeconds(figures.start_time), "\n");
  PoolFamily(out, figures.pools, "futured_pool_workers", "gauge",
             "Threads or worker processes of each pool.", &PoolStats::workers);
  PoolFamily(out, figures.pools, "futured_pool_queued", "gauge",
             "Futures waiting in each pool's queue.", &PoolStats::queued);
  PoolFamily(out, figures.pools, "futured_pool_running", "gauge",
             "Tasks running in each pool.", &PoolStats::running);
  PoolFamily(out, figures.pools, "futured_pool_queue_capacity", "gauge",
             "Futures each pool may queue.", &PoolStats::queue_capacity);
  PoolFamily(out, figures.pools, "futured_pool_worker_restarts_total",
             "counter", "Worker processes a process pool has replaced.",
             &PoolStats::worker_restarts);
  Outcomes(out, figures.functions);
  Retries(out, figures.functions);
  RunTimes(out, figures.functions);
  Family(out, "futured_futures", "gauge", "Futures in the future table.");
  absl::StrAppend(&out, "futured_futures ", figures.futures, "\n");
  Family(out, "futured_waiting_calls", "gauge",
         "RPCs waiting on futures (Result, Wait, AsCompleted, Map, Cancel, "
         "Watch).");
  absl::StrAppend(&out, "futured_waiting_calls ", figures.waiting_calls, "\n");
  if (figures.journal) JournalFamilies(out, *figures.journal);
  if (figures.cluster) ClusterFamilies(out, *figures.cluster);
  return out;
}

}  // namespace futured::server
