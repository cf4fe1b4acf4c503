#include "server/store/postgres_rows.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/store/journal_codec.h"
#include "server/store/journal_ops.h"

namespace futured::server {

PgParam PgInt(int64_t value) { return absl::StrCat(value); }

PgParam PgOptionalTime(std::optional<absl::Time> time) {
  if (!time || *time == absl::InfiniteFuture()) return std::nullopt;
  return PgInt(absl::ToUnixNanos(*time));
}

PgParam PgSeconds(absl::Duration duration) {
  return absl::StrCat(absl::ToDoubleSeconds(duration));
}

const char kPgFutureColumns[] =
    "id, principal, request_id, function, pool, args, submit_time, deadline, "
    "timeout, state, worker_pid, start_time, end_time, value, error_type, "
    "error_message, error_details, seq, attempt, retry_policy, "
    "earlier_attempts";

// The retry columns of a row (18: attempt, 19: retry_policy, 20:
// earlier_attempts) into `f`.
namespace {

absl::Status ReadRetry(const PgRows& rows, int i, JournaledFuture& f) {
  f.attempt = static_cast<int>(rows.Int(i, 18));
  if (!rows.IsNull(i, 19)) {
    f.call.retry_policy = ParsePolicy(rows.Bytes(i, 19));
    if (!f.call.retry_policy) {
      return absl::DataLossError(absl::StrCat(
          "journal: future ", f.call.id, " has an unreadable retry policy"));
    }
  }
  if (!rows.IsNull(i, 20)) {
    std::optional<std::vector<AttemptError>> attempts =
        ParseAttempts(rows.Bytes(i, 20));
    if (!attempts) {
      return absl::DataLossError(absl::StrCat(
          "journal: future ", f.call.id, " has unreadable earlier attempts"));
    }
    f.earlier_attempts = *std::move(attempts);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<JournaledFuture> PgRowToFuture(const PgRows& rows, int i) {
  JournaledFuture f;
  f.call = AcceptedCall{
      .id = rows.Text(i, 0),
      .principal = rows.Text(i, 1),
      .request_id = rows.Text(i, 2),
      .function = rows.Text(i, 3),
      .pool = rows.Text(i, 4),
      .args = rows.Bytes(i, 5),
      .submit_time = absl::FromUnixNanos(rows.Int(i, 6)),
      .deadline = rows.IsNull(i, 7) ? absl::InfiniteFuture()
                                    : absl::FromUnixNanos(rows.Int(i, 7)),
      .timeout = rows.IsNull(i, 8)
                     ? std::nullopt
                     : std::optional(absl::Nanoseconds(rows.Int(i, 8)))};
  const std::optional<FutureState> state =
      journal_ops::StateOfColumn(rows.Int(i, 9));
  if (!state) {
    return absl::DataLossError(absl::StrCat(
        "journal: future ", f.call.id, " has unknown state ", rows.Int(i, 9)));
  }
  f.state = *state;
  f.worker_pid = static_cast<int>(rows.Int(i, 10));
  if (std::optional<int64_t> start = rows.OptionalInt(i, 11)) {
    f.start_time = absl::FromUnixNanos(*start);
  }
  if (absl::Status retry = ReadRetry(rows, i, f); !retry.ok()) return retry;
  if (f.state != FutureState::kFinished && f.state != FutureState::kCancelled) {
    return f;
  }
  FutureEnding ending;
  ending.start_time = f.start_time;
  ending.end_time = absl::FromUnixNanos(rows.Int(i, 12));
  if (f.state == FutureState::kCancelled) {
    ending.outcome = Cancelled{};
  } else if (!rows.IsNull(i, 14)) {
    TaskError error{.type = rows.Text(i, 14), .message = rows.Text(i, 15)};
    if (!rows.IsNull(i, 16) &&
        !error.details.ParseFromString(rows.Bytes(i, 16))) {
      return absl::DataLossError(absl::StrCat("journal: future ", f.call.id,
                                              " has unreadable details"));
    }
    ending.outcome = std::move(error);
  } else {
    google::protobuf::Value value;
    if (!value.ParseFromString(rows.Bytes(i, 13))) {
      return absl::DataLossError(absl::StrCat("journal: future ", f.call.id,
                                              " has an unreadable value"));
    }
    ending.outcome = std::move(value);
  }
  f.ending = std::move(ending);
  return f;
}

absl::StatusOr<std::vector<JournaledFuture>> PgRowsToFutures(
    const PgRows& rows) {
  std::vector<std::pair<int64_t, JournaledFuture>> numbered;
  numbered.reserve(rows.size());
  for (int i = 0; i < rows.size(); ++i) {
    absl::StatusOr<JournaledFuture> future = PgRowToFuture(rows, i);
    if (!future.ok()) return future.status();
    numbered.emplace_back(rows.Int(i, 17), *std::move(future));
  }
  std::sort(numbered.begin(), numbered.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<JournaledFuture> futures;
  futures.reserve(numbered.size());
  for (auto& [seq, future] : numbered) futures.push_back(std::move(future));
  return futures;
}

}  // namespace futured::server
