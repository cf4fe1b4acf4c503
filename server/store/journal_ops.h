// The writes a Journal implementation queues for its writer thread, one per
// Journal method, and what both implementations do with them alike.
#ifndef FUTURED_SERVER_STORE_JOURNAL_OPS_H_
#define FUTURED_SERVER_STORE_JOURNAL_OPS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/future/future.h"
#include "server/future/retry_policy.h"
#include "server/store/journal.h"

namespace futured::server::journal_ops {

struct AcceptOp {
  std::vector<AcceptedCall> calls;
  Journal::Committed committed;
};
struct StartOp {
  std::vector<std::string> ids;
  absl::Time start_time;
  int worker_pid;
  Journal::Started committed;
};
struct UnstartOp {
  std::vector<std::string> ids;
};
struct EndOp {
  std::string id;
  FutureState state;
  FutureEnding ending;
  Journal::Committed committed;
};
struct RetryOp {
  std::string id;
  int attempt;
  std::vector<AttemptError> earlier;
  Journal::Committed committed;
};
struct ForgetOp {
  std::vector<std::string> ids;
};

// The ops of every journal, and those of one implementation (`Own`).
template <typename... Own>
using Op = std::variant<AcceptOp, StartOp, UnstartOp, EndOp, RetryOp, ForgetOp,
                        Own...>;

// The records an op writes.
inline size_t RecordsIn(const AcceptOp& op) { return op.calls.size(); }
inline size_t RecordsIn(const StartOp& op) { return op.ids.size(); }
inline size_t RecordsIn(const UnstartOp& op) { return op.ids.size(); }
inline size_t RecordsIn(const EndOp&) { return 1; }
inline size_t RecordsIn(const RetryOp&) { return 1; }
inline size_t RecordsIn(const ForgetOp& op) { return op.ids.size(); }

// Runs an op's callback, if it has one, with how its commit went.
template <typename Op>
void Acknowledge(Op& op, const absl::Status& status) {
  if constexpr (requires { op.committed; }) {
    if (op.committed) std::move(op.committed)(status);
  }
}

// Runs a StartOp's callback: `lost` (the IDs another node claimed first)
// if its commit went well, else the error.
inline void Acknowledge(StartOp& op, const absl::Status& status,
                        std::vector<std::string> lost = {}) {
  if (!op.committed) return;
  if (status.ok()) {
    std::move(op.committed)(std::move(lost));
  } else {
    std::move(op.committed)(status);
  }
}

// A future's state as the journals store it: its position in this table,
// written out so that the stored format does not follow the enum.
inline constexpr FutureState kStateColumns[] = {
    FutureState::kPending, FutureState::kRunning, FutureState::kFinished,
    FutureState::kCancelled};

int StateColumn(FutureState state);
// The state a stored value names; unset for one no version wrote.
std::optional<FutureState> StateOfColumn(int64_t column);

}  // namespace futured::server::journal_ops

#endif  // FUTURED_SERVER_STORE_JOURNAL_OPS_H_
