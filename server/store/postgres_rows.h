// futured_futures rows read into JournaledFutures, and the parameters that
// write them.
#ifndef FUTURED_SERVER_STORE_POSTGRES_ROWS_H_
#define FUTURED_SERVER_STORE_POSTGRES_ROWS_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/journal.h"
#include "server/store/postgres_connection.h"

namespace futured::server {

// Parameters: an integer; a time as Unix nanoseconds (unset or infinite:
// NULL), as futured_futures keeps times; seconds, for make_interval().
PgParam PgInt(int64_t value);
PgParam PgOptionalTime(std::optional<absl::Time> time);
PgParam PgSeconds(absl::Duration duration);

// The columns of futured_futures that PgRowToFuture() reads, in its order,
// for a SELECT or RETURNING list.
extern const char kPgFutureColumns[];

// Row `i` of `rows` (columns kPgFutureColumns); DATA_LOSS for a row no
// version of futured wrote (an unknown state, an unparsable value).
absl::StatusOr<JournaledFuture> PgRowToFuture(const PgRows& rows, int i);

// Every row of `rows`, in the order they were accepted (column seq).
absl::StatusOr<std::vector<JournaledFuture>> PgRowsToFutures(
    const PgRows& rows);

}  // namespace futured::server

#endif  // FUTURED_SERVER_STORE_POSTGRES_ROWS_H_
