#include "server/store/postgres_journal.h"

#include <libpq-fe.h>

#include <algorithm>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/store/journal_codec.h"
#include "server/store/postgres_connection.h"

namespace futured::server {
namespace {

// Serializes schema changes among nodes starting at once
// (pg_advisory_xact_lock): "futured" in ASCII.
constexpr int64_t kSchemaLock = 0x66757475726564;

// Migrations: kMigrations[v] brings schema version v to v + 1. Times of
// futures are Unix nanoseconds (as the SQLite journal keeps them); lease
// times are the database's own clock (timestamptz), so that nodes' clocks
// never decide who holds a lease.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE futured_nodes (
  name text PRIMARY KEY,
  epoch bigint NOT NULL,
  lease_until timestamptz NOT NULL,
  joined timestamptz NOT NULL
);
-- Rows are updated twice (start, end): free room on their pages lets
-- PostgreSQL update them in place (HOT), without new index entries.
CREATE TABLE futured_futures (
  seq bigserial NOT NULL,
  id text PRIMARY KEY,
  node text NOT NULL,
  principal text NOT NULL,
  request_id text NOT NULL,
  function text NOT NULL,
  pool text NOT NULL,
  args bytea NOT NULL,
  submit_time bigint NOT NULL,
  deadline bigint,
  timeout bigint,
  state smallint NOT NULL,
  worker_pid integer NOT NULL DEFAULT 0,
  start_time bigint,
  end_time bigint,
  value bytea,
  error_type text,
  error_message text,
  error_details bytea
) WITH (fillfactor = 50);
CREATE INDEX futured_futures_node ON futured_futures (node, seq);
-- Every transaction of a node begins here: it goes on only while the node's
-- epoch is current, and holds the node's row until it commits, so that an
-- adopter (which raises the epoch) waits for it and sees what it wrote.
CREATE FUNCTION futured_fence(node_name text, node_epoch bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM 1 FROM futured_nodes
    WHERE name = node_name AND epoch = node_epoch FOR SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'node % lost its lease: epoch % is no longer current '
      '(another node took its work over)', node_name, node_epoch
      USING ERRCODE = 'FUT01';
  END IF;
END $$;
)sql",
    // Retry policies (schema 2): the attempt a future is at, its policy and
    // the errors of its earlier attempts (futured.internal protos).
    R"sql(
ALTER TABLE futured_futures
  ADD COLUMN attempt integer NOT NULL DEFAULT 1,
  ADD COLUMN retry_policy bytea,
  ADD COLUMN earlier_attempts bytea;
)sql",
};
static_assert(std::size(kMigrations) == PostgresJournal::kSchemaVersion);

PgParam Int(int64_t value) { return absl::StrCat(value); }

PgParam OptionalTime(std::optional<absl::Time> time) {
  if (!time || *time == absl::InfiniteFuture()) return std::nullopt;
  return Int(absl::ToUnixNanos(*time));
}

PgParam Seconds(absl::Duration duration) {
  return absl::StrCat(absl::ToDoubleSeconds(duration));
}

// The columns RowToFuture() reads, in its order.
constexpr char kFutureColumns[] =
    "id, principal, request_id, function, pool, args, submit_time, deadline, "
    "timeout, state, worker_pid, start_time, end_time, value, error_type, "
    "error_message, error_details, seq, attempt, retry_policy, "
    "earlier_attempts";

// The retry columns of a row (18: attempt, 19: retry_policy, 20:
// earlier_attempts) into `f`.
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

absl::StatusOr<JournaledFuture> RowToFuture(const PgRows& rows, int i) {
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

// The futures of `rows`, in the order they were accepted (column seq).
absl::StatusOr<std::vector<JournaledFuture>> RowsToFutures(const PgRows& rows) {
  std::vector<std::pair<int64_t, JournaledFuture>> numbered;
  numbered.reserve(rows.size());
  for (int i = 0; i < rows.size(); ++i) {
    absl::StatusOr<JournaledFuture> future = RowToFuture(rows, i);
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

// Creates or migrates the schema, in one transaction under the schema lock.
absl::Status Migrate(PgConnection& db) {
  if (absl::Status s = db.RunScript(absl::StrCat(
          "BEGIN; SELECT pg_advisory_xact_lock(", kSchemaLock,
          "); CREATE TABLE IF NOT EXISTS futured_schema (version integer "
          "NOT NULL)"));
      !s.ok()) {
    return s;
  }
  absl::Cleanup rollback = [&db] { db.RunScript("ROLLBACK").IgnoreError(); };
  absl::StatusOr<PgRows> version =
      db.Run({"SELECT coalesce(max(version), 0) FROM futured_schema"});
  if (!version.ok()) return version.status();
  const int64_t found = version->Int(0, 0);
  if (found > PostgresJournal::kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database ", db.Target(), " has futured schema version ", found,
        ", newer than this futured's ", PostgresJournal::kSchemaVersion,
        ": run the futured that wrote it (every node of a cluster must be "
        "as new as the newest)"));
  }
  for (int64_t v = found; v < PostgresJournal::kSchemaVersion; ++v) {
    if (absl::Status s = db.RunScript(kMigrations[v]); !s.ok()) return s;
  }
  if (found < PostgresJournal::kSchemaVersion) {
    if (absl::Status s = db.RunScript(absl::StrCat(
            "DELETE FROM futured_schema; INSERT INTO futured_schema VALUES (",
            PostgresJournal::kSchemaVersion, ")"));
        !s.ok()) {
      return s;
    }
  }
  std::move(rollback).Cancel();
  return db.RunScript("COMMIT");
}

// Joins the cluster as `node`: its new epoch, or unset while another holds
// the node's lease.
absl::StatusOr<std::optional<int64_t>> Join(PgConnection& db,
                                            const std::string& node,
                                            absl::Duration lease) {
  absl::StatusOr<PgRows> joined = db.Run(
      {"INSERT INTO futured_nodes (name, epoch, lease_until, joined) "
       "VALUES ($1, 1, now() + make_interval(secs => $2::float8), now()) "
       "ON CONFLICT (name) DO UPDATE SET epoch = futured_nodes.epoch + 1, "
       "lease_until = EXCLUDED.lease_until, joined = now() "
       "WHERE futured_nodes.lease_until <= now() RETURNING epoch",
       {node, Seconds(lease)}});
  if (!joined.ok()) return joined.status();
  if (joined->size() == 0) return std::nullopt;
  return joined->Int(0, 0);
}

}  // namespace

absl::Status PostgresJournal::CheckConnInfo(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    const std::string message =
        error != nullptr ? error : "out of memory parsing it";
    PQfreemem(error);
    return absl::InvalidArgumentError(
        absl::StrCat("not a PostgreSQL connection string: ", message));
  }
  bool has_password = false;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr &&
        *o->val != '\0') {
      has_password = true;
    }
  }
  PQconninfoFree(options);
  if (has_password) {
    return absl::InvalidArgumentError(
        "the connection string carries a password, which would show in ps "
        "and in logs: give it in a file (--cluster_password_file, or libpq's "
        "PGPASSFILE) or in the environment (PGPASSWORD)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PostgresJournal>> PostgresJournal::Open(
    Options options) {
  if (absl::Status s = CheckConnInfo(options.conninfo); !s.ok()) return s;
  if (options.node.empty()) {
    return absl::InvalidArgumentError("the node's name is empty");
  }
  absl::StatusOr<std::unique_ptr<PgConnection>> connection =
      PgConnection::Connect(options.conninfo, options.password,
                            absl::StrCat("futured ", options.node));
  if (!connection.ok()) return connection.status();
  if (absl::Status s = Migrate(**connection); !s.ok()) return s;
  const absl::Time give_up = absl::Now() + options.join_wait;
  std::optional<int64_t> epoch;
  for (;;) {
    absl::StatusOr<std::optional<int64_t>> joined =
        Join(**connection, options.node, options.lease);
    if (!joined.ok()) return joined.status();
    epoch = *joined;
    if (epoch.has_value() || absl::Now() > give_up) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  if (!epoch.has_value()) {
    return absl::FailedPreconditionError(
        absl::StrCat("node name '", options.node,
                     "' is held by a live lease in ", (*connection)->Target(),
                     " (waited ", absl::FormatDuration(options.join_wait),
                     "): another futured runs with it; give each node its own "
                     "--node_name"));
  }
  std::unique_ptr<PostgresJournal> journal(
      new PostgresJournal(std::move(options), *std::move(connection), *epoch));
  journal->writer_ = std::thread([j = journal.get()] { j->WriterLoop(); });
  return journal;
}

PostgresJournal::PostgresJournal(Options options,
                                 std::unique_ptr<PgConnection> connection,
                                 int64_t epoch)
    : options_(std::move(options)),
      connection_(std::move(connection)),
      epoch_(epoch),
      target_(absl::StrCat("postgresql ", connection_->Target(), " node ",
                           options_.node)) {}

PostgresJournal::~PostgresJournal() { Close(); }

absl::Status PostgresJournal::Recover(Recovered each) {
  absl::StatusOr<std::vector<JournaledFuture>> futures;
  {
    absl::MutexLock lock(&connection_mu_);
    if (absl::Status s = EnsureConnected(); !s.ok()) return s;
    absl::StatusOr<PgRows> rows = connection_->Run(
        {absl::StrCat("SELECT ", kFutureColumns,
                      " FROM futured_futures WHERE node = $1 ORDER BY seq"),
         {options_.node}});
    if (!rows.ok()) return rows.status();
    futures = RowsToFutures(*rows);
  }
  // Outside the lock: `each` may queue records, which the writer commits.
  if (!futures.ok()) return futures.status();
  for (JournaledFuture& future : *futures) each(future);
  return absl::OkStatus();
}

absl::StatusOr<AcceptedCall> PostgresJournal::FindCall(
    absl::string_view id) const {
  absl::MutexLock lock(&connection_mu_);
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
  absl::StatusOr<PgRows> rows =
      connection_->Run({absl::StrCat("SELECT ", kFutureColumns,
                                     " FROM futured_futures WHERE id = $1"),
                        {std::string(id)}});
  if (!rows.ok()) return rows.status();
  if (rows->size() == 0) {
    return absl::NotFoundError(absl::StrCat("the journal has no future ", id));
  }
  absl::StatusOr<JournaledFuture> future = RowToFuture(*rows, 0);
  if (!future.ok()) return future.status();
  return std::move(future->call);
}

void PostgresJournal::Accept(std::vector<AcceptedCall> calls,
                             Committed committed) {
  Enqueue(journal_ops::AcceptOp{std::move(calls), std::move(committed)});
}

void PostgresJournal::Start(std::vector<std::string> ids, absl::Time start_time,
                            int worker_pid, Committed committed) {
  Enqueue(journal_ops::StartOp{std::move(ids), start_time, worker_pid,
                               std::move(committed)});
}

void PostgresJournal::Unstart(std::vector<std::string> ids) {
  Enqueue(journal_ops::UnstartOp{std::move(ids)});
}

void PostgresJournal::Retry(std::string id, int attempt,
                            std::vector<AttemptError> earlier,
                            Committed committed) {
  Enqueue(journal_ops::RetryOp{std::move(id), attempt, std::move(earlier),
                               std::move(committed)});
}

void PostgresJournal::End(std::string id, FutureState state,
                          FutureEnding ending, Committed committed) {
  Enqueue(journal_ops::EndOp{std::move(id), state, std::move(ending),
                             std::move(committed)});
}

void PostgresJournal::Forget(std::vector<std::string> ids) {
  Enqueue(journal_ops::ForgetOp{std::move(ids)});
}

void PostgresJournal::OnAdopt(Adopted adopted) {
  absl::MutexLock lock(&mu_);
  if (adopting_) return;
  adopted_ = std::move(adopted);
  adopting_ = true;
}

void PostgresJournal::LookUp(std::string id, Found found) {
  Enqueue(LookUpOp{std::move(id), std::move(found)});
}

void PostgresJournal::Enqueue(Op op) {
  absl::Status refusal;
  {
    absl::MutexLock lock(&mu_);
    if (!closing_ && lost_.ok()) {
      queue_.push_back(std::move(op));
      return;
    }
    refusal = closing_
                  ? absl::FailedPreconditionError("journal: closed (stopping)")
                  : lost_;
  }
  std::vector<Op> refused;
  refused.push_back(std::move(op));
  Acknowledge(refused, refusal, refusal);
}

std::vector<PostgresJournal::Op> PostgresJournal::TakeBatch(absl::Time until,
                                                            bool& closing) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithDeadline(absl::Condition(this, &PostgresJournal::HasWorkLocked),
                        until);
  std::vector<Op> batch;
  size_t records = 0;
  while (!queue_.empty() &&
         records < static_cast<size_t>(options_.max_records_per_commit)) {
    records += std::max<size_t>(1, RecordsIn(queue_.front()));
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  closing = closing_;
  return batch;
}

void PostgresJournal::WriterLoop() {
  const absl::Duration beat = options_.lease / 3;
  absl::Time next_beat = absl::Now() + beat;
  for (;;) {
    bool closing = false;
    std::vector<Op> batch = TakeBatch(next_beat, closing);
    if (!batch.empty()) {
      size_t records = 0;
      for (const Op& op : batch) records += RecordsIn(op);
      const absl::Time began = absl::Now();
      const absl::Status written = Commit(batch);
      const absl::Duration took = absl::Now() - began;
      if (absl::IsFailedPrecondition(written)) LoseLease(written);
      const absl::Status looked = written.ok() ? LookUpAll(batch) : written;
      if (records > 0) {
        absl::MutexLock lock(&mu_);
        if (written.ok()) {
          ++stats_.commits;
          stats_.records += static_cast<int64_t>(records);
        } else {
          ++stats_.failed_commits;
        }
        stats_.commit_time += took;
      }
      Acknowledge(batch, written, looked);
    } else if (closing) {
      break;
    }
    if (absl::Now() < next_beat) continue;
    next_beat = absl::Now() + beat;
    if (absl::Status s = Heartbeat(); absl::IsFailedPrecondition(s)) {
      LoseLease(s);
    }
    bool adopting = false;
    {
      absl::MutexLock lock(&mu_);
      adopting = adopting_ && lost_.ok() && !closing_;
    }
    // Bounded: one lapsed node's futures, a batch at a time, then back to
    // this node's own writes.
    for (int i = 0; adopting && i < 100 && AdoptOnce(); ++i) {
    }
  }
}

absl::Status PostgresJournal::EnsureConnected() const {
  if (connection_->Usable()) return absl::OkStatus();
  return connection_->Reconnect();
}

absl::Status PostgresJournal::Commit(std::vector<Op>& ops) {
  if (std::all_of(ops.begin(), ops.end(),
                  [](const Op& op) { return RecordsIn(op) == 0; })) {
    return absl::OkStatus();  // look-ups only
  }
  absl::MutexLock lock(&connection_mu_);
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
  std::vector<PgParam> accept[10];
  std::vector<PgParam> start[3];
  std::vector<PgParam> unstart;
  std::vector<PgParam> retry[3];
  std::vector<PgParam> end[8];
  std::vector<PgParam> forget;
  for (Op& op : ops) {
    if (auto* a = std::get_if<journal_ops::AcceptOp>(&op)) {
      for (const AcceptedCall& c : a->calls) {
        accept[0].push_back(c.id);
        accept[1].push_back(c.principal);
        accept[2].push_back(c.request_id);
        accept[3].push_back(c.function);
        accept[4].push_back(c.pool);
        accept[5].push_back(PgBytea(c.args));
        accept[6].push_back(Int(absl::ToUnixNanos(c.submit_time)));
        accept[7].push_back(OptionalTime(c.deadline));
        accept[8].push_back(c.timeout
                                ? Int(absl::ToInt64Nanoseconds(*c.timeout))
                                : std::nullopt);
        accept[9].push_back(
            c.retry_policy ? PgParam(PgBytea(SerializePolicy(*c.retry_policy)))
                           : std::nullopt);
      }
    } else if (auto* s = std::get_if<journal_ops::StartOp>(&op)) {
      for (const std::string& id : s->ids) {
        start[0].push_back(id);
        start[1].push_back(Int(absl::ToUnixNanos(s->start_time)));
        start[2].push_back(Int(s->worker_pid));
      }
    } else if (auto* e = std::get_if<journal_ops::EndOp>(&op)) {
      end[0].push_back(e->id);
      end[1].push_back(Int(journal_ops::StateColumn(e->state)));
      end[2].push_back(OptionalTime(e->ending.start_time));
      end[3].push_back(Int(absl::ToUnixNanos(e->ending.end_time)));
      PgParam value, type, message, details;
      if (const auto* v =
              std::get_if<google::protobuf::Value>(&e->ending.outcome)) {
        value = PgBytea(v->SerializeAsString());
      } else if (const auto* error =
                     std::get_if<TaskError>(&e->ending.outcome)) {
        type = error->type;
        message = error->message;
        if (error->details.kind_case() !=
            google::protobuf::Value::KIND_NOT_SET) {
          details = PgBytea(error->details.SerializeAsString());
        }
      }
      end[4].push_back(std::move(value));
      end[5].push_back(std::move(type));
      end[6].push_back(std::move(message));
      end[7].push_back(std::move(details));
    } else if (auto* u = std::get_if<journal_ops::UnstartOp>(&op)) {
      for (std::string& id : u->ids) unstart.push_back(id);
    } else if (auto* r = std::get_if<journal_ops::RetryOp>(&op)) {
      retry[0].push_back(r->id);
      retry[1].push_back(Int(r->attempt));
      retry[2].push_back(PgBytea(SerializeAttempts(r->earlier)));
    } else if (auto* f = std::get_if<journal_ops::ForgetOp>(&op)) {
      for (std::string& id : f->ids) forget.push_back(id);
    }
  }
  // Applied kind by kind rather than in queue order: a future's records come
  // in the order accept < retry < start < unstart < end < forget, and a
  // start that comes after an end (a cancelled future) leaves the end in
  // place either way. A retry and the next attempt's start in one batch
  // leave it running, as it is; a start and its retry in one batch leave it
  // running too, though it waits for its next attempt: after a crash it
  // counts as interrupted, never as not yet run.
  const PgParam node = options_.node;
  std::vector<PgStatement> statements;
  statements.push_back({"BEGIN"});
  statements.push_back({"SELECT futured_fence($1, $2)", {node, Int(epoch_)}});
  if (!accept[0].empty()) {
    PgStatement insert{
        "INSERT INTO futured_futures (id, node, principal, request_id, "
        "function, pool, args, submit_time, deadline, timeout, retry_policy, "
        "state) "
        "SELECT c.id, $1, c.principal, c.request_id, c.function, c.pool, "
        "c.args, c.submit_time, c.deadline, c.timeout, c.retry_policy, 0 "
        "FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], "
        "$6::text[], $7::bytea[], $8::bigint[], $9::bigint[], $10::bigint[], "
        "$11::bytea[]) WITH ORDINALITY AS c(id, principal, request_id, "
        "function, pool, args, submit_time, deadline, timeout, retry_policy, "
        "ord) ORDER BY c.ord",
        {node}};
    for (auto& column : accept) insert.params.push_back(PgArray(column));
    statements.push_back(std::move(insert));
  }
  if (!retry[0].empty()) {
    PgStatement update{
        "UPDATE futured_futures f SET state = 0, attempt = r.attempt, "
        "earlier_attempts = r.earlier, start_time = NULL, worker_pid = 0 "
        "FROM unnest($2::text[], $3::integer[], $4::bytea[]) AS "
        "r(id, attempt, earlier) "
        "WHERE f.node = $1 AND f.id = r.id AND f.state IN (0, 1)",
        {node}};
    for (auto& column : retry) update.params.push_back(PgArray(column));
    statements.push_back(std::move(update));
  }
  if (!start[0].empty()) {
    PgStatement update{
        "UPDATE futured_futures f SET state = 1, start_time = s.start_time, "
        "worker_pid = s.pid FROM unnest($2::text[], $3::bigint[], "
        "$4::integer[]) AS s(id, start_time, pid) "
        "WHERE f.node = $1 AND f.id = s.id AND f.state = 0",
        {node}};
    for (auto& column : start) update.params.push_back(PgArray(column));
    statements.push_back(std::move(update));
  }
  if (!unstart.empty()) {
    statements.push_back(
        {"UPDATE futured_futures SET state = 0, start_time = NULL, "
         "worker_pid = 0 WHERE node = $1 AND id = ANY($2::text[]) AND "
         "state = 1",
         {node, PgArray(unstart)}});
  }
  if (!end[0].empty()) {
    PgStatement update{
        "UPDATE futured_futures f SET state = e.state, start_time = "
        "e.start_time, end_time = e.end_time, value = e.value, error_type = "
        "e.error_type, error_message = e.error_message, error_details = "
        "e.error_details FROM unnest($2::text[], $3::smallint[], "
        "$4::bigint[], $5::bigint[], $6::bytea[], $7::text[], $8::text[], "
        "$9::bytea[]) AS e(id, state, start_time, end_time, value, "
        "error_type, error_message, error_details) "
        "WHERE f.node = $1 AND f.id = e.id",
        {node}};
    for (auto& column : end) update.params.push_back(PgArray(column));
    statements.push_back(std::move(update));
  }
  if (!forget.empty()) {
    statements.push_back(
        {"DELETE FROM futured_futures WHERE node = $1 AND id = ANY($2::text[])",
         {node, PgArray(forget)}});
  }
  statements.push_back({"COMMIT"});
  return connection_->RunPipeline(statements);
}

absl::Status PostgresJournal::LookUpAll(std::vector<Op>& ops) {
  std::vector<PgParam> ids;
  for (const Op& op : ops) {
    if (const auto* l = std::get_if<LookUpOp>(&op)) ids.push_back(l->id);
  }
  if (ids.empty()) return absl::OkStatus();
  absl::StatusOr<std::vector<JournaledFuture>> found;
  {
    absl::MutexLock lock(&connection_mu_);
    if (absl::Status s = EnsureConnected(); !s.ok()) return s;
    absl::StatusOr<PgRows> rows = connection_->Run(
        {absl::StrCat("SELECT ", kFutureColumns,
                      " FROM futured_futures WHERE id = ANY($1::text[])"),
         {PgArray(ids)}});
    if (!rows.ok()) return rows.status();
    found = RowsToFutures(*rows);
  }
  if (!found.ok()) return found.status();
  for (Op& op : ops) {
    auto* l = std::get_if<LookUpOp>(&op);
    if (l == nullptr) continue;
    std::optional<JournaledFuture> match;
    for (const JournaledFuture& f : *found) {
      if (f.call.id == l->id) match = f;
    }
    Found answer = std::move(l->found);
    l->found = nullptr;
    std::move(answer)(std::move(match));
  }
  return absl::OkStatus();
}

absl::Status PostgresJournal::Heartbeat() {
  absl::MutexLock lock(&connection_mu_);
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
  absl::StatusOr<PgRows> renewed = connection_->Run(
      {"UPDATE futured_nodes SET lease_until = now() + make_interval(secs => "
       "$3::float8) WHERE name = $1 AND epoch = $2 RETURNING epoch",
       {options_.node, Int(epoch_), Seconds(options_.lease)}});
  if (!renewed.ok()) return renewed.status();
  if (renewed->size() == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "node ", options_.node, " lost its lease: epoch ", epoch_,
        " is no longer current (another node took its work over)"));
  }
  return absl::OkStatus();
}

bool PostgresJournal::AdoptOnce() {
  std::string lost_node;
  absl::StatusOr<std::vector<JournaledFuture>> futures;
  {
    absl::MutexLock lock(&connection_mu_);
    if (!EnsureConnected().ok()) return false;
    PgConnection& db = *connection_;
    if (!db.RunScript("BEGIN").ok()) return false;
    absl::Cleanup rollback = [&db] { db.RunScript("ROLLBACK").IgnoreError(); };
    const PgParam node = options_.node;
    absl::StatusOr<PgRows> fence =
        db.Run({"SELECT futured_fence($1, $2)", {node, Int(epoch_)}});
    if (!fence.ok()) {
      if (absl::IsFailedPrecondition(fence.status())) {
        std::move(rollback).Invoke();
        LoseLease(fence.status());
      }
      return false;
    }
    absl::StatusOr<PgRows> lapsed = db.Run(
        {"SELECT name FROM futured_nodes n WHERE name <> $1 AND "
         "lease_until < now() AND EXISTS (SELECT 1 FROM futured_futures f "
         "WHERE f.node = n.name) ORDER BY lease_until LIMIT 1 "
         "FOR UPDATE OF n SKIP LOCKED",
         {node}});
    if (!lapsed.ok() || lapsed->size() == 0) return false;
    lost_node = lapsed->Text(0, 0);
    // The lost node is fenced from here on, even if it is alive after all.
    if (!db.Run({"UPDATE futured_nodes SET epoch = epoch + 1 WHERE name = $1",
                 {lost_node}})
             .ok()) {
      return false;
    }
    absl::StatusOr<PgRows> moved = db.Run(
        {absl::StrCat(
             "WITH claimed AS (SELECT id AS claimed_id FROM futured_futures "
             "WHERE node = $2 ORDER BY seq LIMIT $3 "
             "FOR UPDATE SKIP LOCKED) "
             "UPDATE futured_futures f SET node = $1 FROM claimed "
             "WHERE f.id = claimed.claimed_id RETURNING ",
             kFutureColumns),
         {node, lost_node, Int(options_.max_adopted_per_commit)}});
    if (!moved.ok()) return false;
    futures = RowsToFutures(*moved);
    if (!futures.ok()) return false;
    std::move(rollback).Cancel();
    if (!db.RunScript("COMMIT").ok()) return false;
  }
  if (futures->empty()) return false;
  const bool more =
      futures->size() >= static_cast<size_t>(options_.max_adopted_per_commit);
  adopted_(lost_node, *std::move(futures));
  return more;
}

void PostgresJournal::LoseLease(const absl::Status& why) {
  {
    absl::MutexLock lock(&mu_);
    if (!lost_.ok()) return;
    lost_ = why;
  }
  if (options_.lost_lease) options_.lost_lease(why);
}

size_t PostgresJournal::RecordsIn(const Op& op) {
  return std::visit(
      [](const auto& o) -> size_t {
        if constexpr (std::is_same_v<std::decay_t<decltype(o)>, LookUpOp>) {
          return 0;
        } else {
          return journal_ops::RecordsIn(o);
        }
      },
      op);
}

void PostgresJournal::Acknowledge(std::vector<Op>& ops,
                                  const absl::Status& written,
                                  const absl::Status& looked) {
  for (Op& op : ops) {
    std::visit(
        [&](auto& o) {
          if constexpr (std::is_same_v<std::decay_t<decltype(o)>, LookUpOp>) {
            if (o.found) std::move(o.found)(looked);
          } else {
            journal_ops::Acknowledge(o, written);
          }
        },
        op);
  }
}

void PostgresJournal::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (closing_) return;
    closing_ = true;
  }
  if (writer_.joinable()) writer_.join();
  bool lost = false;
  {
    absl::MutexLock lock(&mu_);
    lost = !lost_.ok();
  }
  if (lost) return;
  // Gives the lease up: other nodes may adopt what is left at once.
  absl::MutexLock lock(&connection_mu_);
  if (!EnsureConnected().ok()) return;
  connection_
      ->Run({"UPDATE futured_nodes SET lease_until = now() "
             "WHERE name = $1 AND epoch = $2",
             {options_.node, Int(epoch_)}})
      .IgnoreError();
}

JournalStats PostgresJournal::Stats() const {
  absl::MutexLock lock(&mu_);
  JournalStats stats = stats_;
  stats.path = target_;
  return stats;
}

}  // namespace futured::server
