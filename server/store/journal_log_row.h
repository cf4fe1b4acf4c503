// The rows of SqliteJournal's `log` table: the records of one commit, as
// bytes (a futured.internal.JournalLogRow).
#ifndef FUTURED_SERVER_STORE_JOURNAL_LOG_ROW_H_
#define FUTURED_SERVER_STORE_JOURNAL_LOG_ROW_H_

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "server/store/journal_ops.h"

namespace futured::server::journal_log_row {

// The records of `ops`, in order, their callbacks aside, and those that make
// each of `carried` what it is (a fold carried them forward).
std::string Encode(const std::vector<journal_ops::Op<>>& ops,
                   const std::vector<JournaledFuture>& carried);

// Calls `each` with the records of a row's bytes as ops without callbacks:
// first those of carried futures (`carried` true), then the others, in
// order. DATA_LOSS for bytes no version wrote.
absl::Status Decode(
    const std::string& bytes,
    absl::FunctionRef<void(journal_ops::Op<>&, bool carried)> each);

}  // namespace futured::server::journal_log_row

#endif  // FUTURED_SERVER_STORE_JOURNAL_LOG_ROW_H_
