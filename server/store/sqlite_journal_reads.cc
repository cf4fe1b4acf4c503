// SqliteJournal's reads: Recover() and FindCall(), on a read-only
// connection of their own beside the writer's.
#include <sqlite3.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "server/store/journal_codec.h"
#include "server/store/journal_log_row.h"
#include "server/store/sqlite_journal.h"
#include "server/store/sqlite_statement.h"

namespace futured::server {
namespace {

absl::Status ReadRetry(const SqliteStatement& row, JournaledFuture& f) {
  f.attempt = static_cast<int>(row.Int(17));
  if (!row.IsNull(18)) {
    f.call.retry_policy = ParsePolicy(row.Text(18));
    if (!f.call.retry_policy) {
      return absl::DataLossError(absl::StrCat(
          "journal: future ", f.call.id, " has an unreadable retry policy"));
    }
  }
  if (!row.IsNull(19)) {
    std::optional<std::vector<AttemptError>> attempts =
        ParseAttempts(row.Text(19));
    if (!attempts) {
      return absl::DataLossError(absl::StrCat(
          "journal: future ", f.call.id, " has unreadable earlier attempts"));
    }
    f.earlier_attempts = *std::move(attempts);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<FutureEnding>> ReadEnding(
    const SqliteStatement& row, FutureState state, const std::string& id) {
  if (state != FutureState::kFinished && state != FutureState::kCancelled) {
    return std::nullopt;
  }
  FutureEnding ending;
  if (std::optional<int64_t> start = row.OptionalInt(11)) {
    ending.start_time = absl::FromUnixNanos(*start);
  }
  ending.end_time = absl::FromUnixNanos(row.Int(12));
  if (state == FutureState::kCancelled) {
    ending.outcome = Cancelled{};
  } else if (!row.IsNull(14)) {
    TaskError error{.type = row.Text(14), .message = row.Text(15)};
    if (!row.IsNull(16) && !error.details.ParseFromString(row.Text(16))) {
      return absl::DataLossError(
          absl::StrCat("journal: future ", id, " has unreadable details"));
    }
    ending.outcome = std::move(error);
  } else {
    google::protobuf::Value value;
    if (!value.ParseFromString(row.Text(13))) {
      return absl::DataLossError(
          absl::StrCat("journal: future ", id, " has an unreadable value"));
    }
    ending.outcome = std::move(value);
  }
  return ending;
}

// The call in columns 0-8 of a row (id, principal, request_id, function,
// pool, args, submit_time, deadline, timeout), as Recover() and FindCall()
// select them.
AcceptedCall ReadCall(const SqliteStatement& row) {
  return AcceptedCall{
      .id = row.Text(0),
      .principal = row.Text(1),
      .request_id = row.Text(2),
      .function = row.Text(3),
      .pool = row.Text(4),
      .args = row.Text(5),
      .submit_time = absl::FromUnixNanos(row.Int(6)),
      .deadline = row.IsNull(7) ? absl::InfiniteFuture()
                                : absl::FromUnixNanos(row.Int(7)),
      .timeout = row.IsNull(8) ? std::nullopt
                               : std::optional(absl::Nanoseconds(row.Int(8)))};
}

// A row of Recover()'s SELECT.
absl::StatusOr<JournaledFuture> ReadFuture(const SqliteStatement& row) {
  JournaledFuture f;
  f.call = ReadCall(row);
  const std::optional<FutureState> state =
      journal_ops::StateOfColumn(row.Int(9));
  if (!state) {
    return absl::DataLossError(absl::StrCat("journal: future ", f.call.id,
                                            " has unknown state ", row.Int(9)));
  }
  f.state = *state;
  f.worker_pid = static_cast<int>(row.Int(10));
  if (std::optional<int64_t> start = row.OptionalInt(11)) {
    f.start_time = absl::FromUnixNanos(*start);
  }
  absl::StatusOr<std::optional<FutureEnding>> ending =
      ReadEnding(row, *state, f.call.id);
  if (!ending.ok()) return ending.status();
  f.ending = *std::move(ending);
  if (absl::Status retry = ReadRetry(row, f); !retry.ok()) return retry;
  return f;
}

// The columns ReadFuture() reads, from the table of futures.
constexpr char kSelectFuture[] =
    "SELECT id, principal, request_id, function, pool, args, "
    "submit_time, deadline, timeout, state, worker_pid, start_time, "
    "end_time, value, error_type, error_message, error_details, "
    "attempt, retry_policy, earlier_attempts FROM futures";

// For RecoverLeavingDone(): gives `left` the row of a done future without a
// request ID that the log (`replayed`; null when it held nothing) does not
// change, reading five of its columns only, and returns true; false for
// any other row.
bool LeaveOnDisk(const SqliteStatement& row, const JournalBacklog* replayed,
                 Journal::RecoveredLeft left) {
  const std::optional<FutureState> state =
      journal_ops::StateOfColumn(row.Int(9));
  if (state != FutureState::kFinished && state != FutureState::kCancelled) {
    return false;
  }
  // With a request ID: whole, for the engine to remember that ID.
  if (!row.TextView(2).empty()) return false;
  const absl::string_view id = row.TextView(0);
  if (replayed != nullptr && replayed->Holds(id)) return false;
  left(Journal::LeftOnDisk{.id = id,
                           .principal = row.TextView(1),
                           .end_time = absl::FromUnixNanos(row.Int(12))});
  return true;
}

}  // namespace

absl::Status SqliteJournal::OpenReaderLocked() const {
  if (reader_ != nullptr) return absl::OkStatus();
  sqlite3* reader = nullptr;
  const int code =
      sqlite3_open_v2(path_.c_str(), &reader,
                      SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
  if (code != SQLITE_OK) {
    absl::Status error =
        SqliteError(reader, code, absl::StrCat("cannot read ", path_));
    sqlite3_close_v2(reader);
    return error;
  }
  reader_ = reader;
  return absl::OkStatus();
}

absl::Status SqliteJournal::Recover(Recovered each) {
  absl::MutexLock lock(&read_mu_);
  return RecoverLocked(each, nullptr);
}

absl::Status SqliteJournal::RecoverLeavingDone(Recovered each,
                                               RecoveredLeft left) {
  absl::MutexLock lock(&read_mu_);
  return RecoverLocked(each, &left);
}

absl::Status SqliteJournal::RecoverLocked(Recovered each,
                                          const RecoveredLeft* left) {
  // On the reader's connection: `each` may queue records (an interrupted
  // future's end, say), which the writer commits meanwhile on its own.
  if (absl::Status opened = OpenReaderLocked(); !opened.ok()) return opened;
  JournalBacklog replayed(options_.backlog);
  if (absl::Status read = ReadLog(replayed); !read.ok()) return read;
  if (absl::Status read = ReadTable(replayed, each, left); !read.ok()) {
    return read;
  }
  // Those accepted in the log come after every row: a fold writes a
  // generation's futures in the order they were accepted, older ones first.
  replayed.ForEachWhole(each);
  backlog_.Resume(std::move(replayed));
  return absl::OkStatus();
}

absl::Status SqliteJournal::ReadLog(JournalBacklog& replayed) {
  absl::StatusOr<std::unique_ptr<SqliteStatement>> select =
      SqliteStatement::Prepare(reader_,
                               "SELECT seq, records FROM log ORDER BY seq");
  if (!select.ok()) return select.status();
  SqliteStatement& row = **select;
  for (;;) {
    absl::StatusOr<bool> more = row.Step();
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
    const int64_t seq = row.Int(0);
    absl::Status decoded = journal_log_row::Decode(
        row.Text(1),
        [&](Op& op, bool carried) { replayed.Add(op, seq, carried); });
    if (!decoded.ok()) return decoded;
  }
}

absl::Status SqliteJournal::ReadTable(JournalBacklog& replayed, Recovered each,
                                      const RecoveredLeft* left) {
  absl::StatusOr<std::unique_ptr<SqliteStatement>> select =
      SqliteStatement::Prepare(
          reader_, absl::StrCat(kSelectFuture, " ORDER BY seq").c_str());
  if (!select.ok()) return select.status();
  SqliteStatement& row = **select;
  const JournalBacklog* logged = replayed.empty() ? nullptr : &replayed;
  for (;;) {
    absl::StatusOr<bool> more = row.Step();
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
    if (left != nullptr && LeaveOnDisk(row, logged, *left)) continue;
    absl::StatusOr<JournaledFuture> f = ReadFuture(row);
    if (!f.ok()) return f.status();
    if (replayed.Replay(*f)) each(*f);
  }
}

absl::StatusOr<SqliteStatement*> SqliteJournal::SelectByIdLocked(
    std::unique_ptr<SqliteStatement>& statement, const std::string& sql,
    absl::string_view id) const {
  if (absl::Status opened = OpenReaderLocked(); !opened.ok()) return opened;
  if (statement == nullptr) {
    absl::StatusOr<std::unique_ptr<SqliteStatement>> prepared =
        SqliteStatement::Prepare(reader_, sql.c_str());
    if (!prepared.ok()) return prepared.status();
    statement = *std::move(prepared);
  }
  statement->BindText(1, id);
  absl::StatusOr<bool> found = statement->Step();
  if (found.ok() && *found) return statement.get();
  statement->Reset();
  if (!found.ok()) return found.status();
  return absl::NotFoundError(absl::StrCat("the journal has no future ", id));
}

absl::StatusOr<AcceptedCall> SqliteJournal::FindCall(
    absl::string_view id) const {
  if (std::optional<AcceptedCall> logged = backlog_.FindCall(id)) {
    return *std::move(logged);
  }
  absl::MutexLock lock(&read_mu_);
  absl::StatusOr<SqliteStatement*> row = SelectByIdLocked(
      find_call_,
      "SELECT id, principal, request_id, function, pool, args, "
      "submit_time, deadline, timeout FROM futures WHERE id = ?1",
      id);
  if (!row.ok()) return row.status();
  absl::Cleanup reset = [&row] { (*row)->Reset(); };
  return ReadCall(**row);
}

absl::StatusOr<JournaledFuture> SqliteJournal::LoadDone(
    absl::string_view id) const {
  absl::MutexLock lock(&read_mu_);
  absl::StatusOr<SqliteStatement*> row = SelectByIdLocked(
      load_done_, absl::StrCat(kSelectFuture, " WHERE id = ?1"), id);
  if (!row.ok()) return row.status();
  absl::Cleanup reset = [&row] { (*row)->Reset(); };
  return ReadFuture(**row);
}

}  // namespace futured::server
