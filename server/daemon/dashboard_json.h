// The JSON documents the dashboard's endpoints answer (/api/overview,
// /api/futures, /api/futures/<id>), and the parsing of their queries.
#ifndef FUTURED_SERVER_DAEMON_DASHBOARD_JSON_H_
#define FUTURED_SERVER_DAEMON_DASHBOARD_JSON_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/struct.pb.h"
#include "server/daemon/dashboard_figures.h"
#include "server/engine/task_metrics.h"
#include "server/future/future.h"
#include "server/pools/pool.h"
#include "server/store/journal.h"

namespace futured::server {

// How a future stands, as a person reads it: "pending", "running",
// "finished" (returned a value), "failed" (raised) or "cancelled".
std::string FutureStatus(const FutureSnapshot& snapshot);

// A worker as the viewer may see it: the task it runs only if the viewer
// may see that future.
struct WorkerFigures {
  int pid = 0;                         // 0 for a thread
  bool busy = false;                   // it runs a task
  std::optional<FutureSnapshot> task;  // set if busy and visible
};

struct PoolFigures {
  PoolStats stats;
  std::vector<WorkerFigures> workers;
};

// Everything /api/overview shows, gathered at one request.
struct OverviewFigures {
  std::string principal;  // "" without authentication
  bool sees_all = false;  // the operator principal
  std::vector<PoolFigures> pools;
  std::vector<FunctionStats> functions;
  std::vector<ThroughputHistory::Rate> throughput;
  int64_t futures = 0;  // in the table, every principal's
  absl::Time start_time;
  std::string version;
  absl::Time now;
  std::optional<JournalStats> journal;  // unset without a journal
};

std::string OverviewJson(const OverviewFigures& figures);

// A future: its call's names, status, outcome or error, times, worker and
// progress. `now` gives a running future's run time so far.
std::string FutureJson(const FutureSnapshot& snapshot, absl::Time now);

// FutureJson() with the call's bound arguments, as "args" (a list), or why
// they are not known, as "args_unknown".
std::string FutureJson(const FutureSnapshot& snapshot, absl::Time now,
                       const absl::StatusOr<google::protobuf::ListValue>& args);

// {"futures": [...], "matched": n, "scanned": m}: the first futures of
// `snapshots` (already filtered), each as FutureJson has it.
std::string FutureListJson(const std::vector<FutureSnapshot>& snapshots,
                           size_t scanned, absl::Time now);

// {"error": message}, for every 4xx answer.
std::string ErrorJson(absl::string_view message);

// /api/futures?state=&function=&limit=: which of the recent futures to list.
struct FutureFilter {
  std::string status;    // as FutureStatus() says; empty: any
  std::string function;  // exact name; empty: any
  size_t limit = 100;

  bool Matches(const FutureSnapshot& snapshot) const;
};

inline constexpr size_t kMaxFutureListLimit = 1000;
inline constexpr size_t kMaxFunctionNameBytes = 256;

// Parses the query's values (empty: not given). INVALID_ARGUMENT for an
// unknown state, a function name longer than kMaxFunctionNameBytes, or a
// limit that is not a number in [1, kMaxFutureListLimit]; the message
// quotes at most a short prefix of the bad value.
absl::StatusOr<FutureFilter> ParseFutureFilter(absl::string_view state,
                                               absl::string_view function,
                                               absl::string_view limit);

// Whether `id` could name a future: 1 to FutureTable::kMaxIdSize of
// [0-9A-Za-z-]. Anything else is a bad request, not an unknown future.
bool IsWellFormedFutureId(absl::string_view id);

}  // namespace futured::server

#endif  // FUTURED_SERVER_DAEMON_DASHBOARD_JSON_H_
