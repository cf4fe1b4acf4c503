#include "server/store/postgres_journal.h"

#include <libpq-fe.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "server/store/journal_codec.h"
#include "server/store/postgres_bus.h"
#include "server/store/postgres_connection.h"
#include "server/store/postgres_rows.h"
#include "server/store/postgres_schema.h"

namespace futured::server {
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
  if (absl::Status s = MigratePostgresSchema(**connection); !s.ok()) return s;
  absl::StatusOr<PgNodeLease> lease = PgNodeLease::Join(
      **connection, options.node, options.lease, options.join_wait);
  if (!lease.ok()) return lease.status();
  std::unique_ptr<PostgresJournal> journal(new PostgresJournal(
      std::move(options), *std::move(connection), *std::move(lease)));
  journal->writer_ = std::thread([j = journal.get()] { j->WriterLoop(); });
  return journal;
}

PostgresJournal::PostgresJournal(Options options,
                                 std::unique_ptr<PgConnection> connection,
                                 PgNodeLease lease)
    : options_(std::move(options)),
      connection_(std::move(connection)),
      lease_(std::move(lease)),
      target_(absl::StrCat("postgresql ", connection_->Target(), " node ",
                           options_.node)) {}

PostgresJournal::~PostgresJournal() { Close(); }

void PostgresJournal::Accept(std::vector<AcceptedCall> calls,
                             Committed committed) {
  Enqueue(journal_ops::AcceptOp{std::move(calls), std::move(committed)});
}

void PostgresJournal::Start(std::vector<std::string> ids, absl::Time start_time,
                            int worker_pid, Started started) {
  Enqueue(journal_ops::StartOp{std::move(ids), start_time, worker_pid,
                               std::move(started)});
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

void PostgresJournal::OnClaim(Room room, Claimed claimed) {
  absl::MutexLock lock(&mu_);
  if (claiming_ || options_.claim_interval <= absl::ZeroDuration()) return;
  room_ = std::move(room);
  claimed_ = std::move(claimed);
  claiming_ = true;
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
  const bool may_claim = options_.claim_interval > absl::ZeroDuration();
  absl::Duration claim_wait = options_.claim_interval;
  absl::Time next_claim =
      may_claim ? absl::Now() + claim_wait : absl::InfiniteFuture();
  for (;;) {
    bool closing = false;
    std::vector<Op> batch = TakeBatch(std::min(next_beat, next_claim), closing);
    if (!batch.empty()) {
      size_t records = 0;
      for (const Op& op : batch) records += RecordsIn(op);
      const absl::Time began = absl::Now();
      absl::flat_hash_set<std::string> lost;
      const absl::Status written = Commit(batch, lost);
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
      Acknowledge(batch, written, looked, lost);
    } else if (closing) {
      break;
    }
    if (may_claim && absl::Now() >= next_claim) {
      // A look that finds nothing scans the futures table for nothing:
      // the next waits twice as long, up to 8 intervals.
      claim_wait = ClaimOnce()
                       ? options_.claim_interval
                       : std::min(2 * claim_wait, 8 * options_.claim_interval);
      next_claim = absl::Now() + claim_wait;
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

absl::Status PostgresJournal::Commit(std::vector<Op>& ops,
                                     absl::flat_hash_set<std::string>& lost) {
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
        accept[6].push_back(PgInt(absl::ToUnixNanos(c.submit_time)));
        accept[7].push_back(PgOptionalTime(c.deadline));
        accept[8].push_back(c.timeout
                                ? PgInt(absl::ToInt64Nanoseconds(*c.timeout))
                                : std::nullopt);
        accept[9].push_back(
            c.retry_policy ? PgParam(PgBytea(SerializePolicy(*c.retry_policy)))
                           : std::nullopt);
      }
    } else if (auto* s = std::get_if<journal_ops::StartOp>(&op)) {
      for (const std::string& id : s->ids) {
        start[0].push_back(id);
        start[1].push_back(PgInt(absl::ToUnixNanos(s->start_time)));
        start[2].push_back(PgInt(s->worker_pid));
      }
    } else if (auto* e = std::get_if<journal_ops::EndOp>(&op)) {
      end[0].push_back(e->id);
      end[1].push_back(PgInt(journal_ops::StateColumn(e->state)));
      end[2].push_back(PgOptionalTime(e->ending.start_time));
      end[3].push_back(PgInt(absl::ToUnixNanos(e->ending.end_time)));
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
      retry[1].push_back(PgInt(r->attempt));
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
  // Each row is found by its ID (the primary key); its node is checked by
  // `(node = $1) IS TRUE`, which no index serves. With `node = $1`, a table
  // not yet analyzed (a new cluster, the first minute) made PostgreSQL scan
  // all of the node's rows once per ID: 355 ms instead of 0.6 ms for 64
  // starts among 20,000 futures (EXPLAIN ANALYZE).
  std::vector<PgStatement> statements;
  size_t lost_at = 0;  // the statement that finds starts claimed away
  statements.push_back({"BEGIN"});
  statements.push_back(lease_.Fence());
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
        "WHERE f.id = r.id AND f.state IN (0, 1) AND (f.node = $1) IS TRUE",
        {node}};
    for (auto& column : retry) update.params.push_back(PgArray(column));
    statements.push_back(std::move(update));
  }
  if (!start[0].empty()) {
    PgStatement update{
        "UPDATE futured_futures f SET state = 1, start_time = s.start_time, "
        "worker_pid = s.pid FROM unnest($2::text[], $3::bigint[], "
        "$4::integer[]) AS s(id, start_time, pid) "
        "WHERE f.id = s.id AND f.state = 0 AND (f.node = $1) IS TRUE",
        {node}};
    for (auto& column : start) update.params.push_back(PgArray(column));
    statements.push_back(std::move(update));
    // Those another node claimed (ClaimPending()) before this statement
    // could lock them; a row it updated stays locked, and so this node's,
    // until the commit.
    lost_at = statements.size();
    statements.push_back(
        {"SELECT id FROM futured_futures WHERE id = ANY($2::text[]) AND "
         "node <> $1",
         {node, PgArray(start[0])}});
  }
  if (!unstart.empty()) {
    statements.push_back(
        {"UPDATE futured_futures SET state = 0, start_time = NULL, "
         "worker_pid = 0 WHERE id = ANY($2::text[]) AND state = 1 AND "
         "(node = $1) IS TRUE",
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
        "WHERE f.id = e.id AND (f.node = $1) IS TRUE",
        {node}};
    for (auto& column : end) update.params.push_back(PgArray(column));
    statements.push_back(std::move(update));
    // Wakes whoever waits for them on other nodes, once this commits.
    std::vector<std::string> ended;
    for (const PgParam& id : end[0]) ended.push_back(*id);
    statements.push_back(
        {"SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p",
         {PostgresBus::kEndedChannel,
          PgArray(PostgresBus::EndedPayloads(ended))}});
  }
  if (!forget.empty()) {
    statements.push_back(
        {"DELETE FROM futured_futures WHERE id = ANY($2::text[]) AND "
         "(node = $1) IS TRUE",
         {node, PgArray(forget)}});
  }
  statements.push_back({"COMMIT"});
  std::optional<PgRows> claimed_away;
  absl::Status committed =
      connection_->RunPipeline(statements, lost_at, &claimed_away);
  if (committed.ok() && claimed_away) {
    for (int i = 0; i < claimed_away->size(); ++i) {
      lost.insert(claimed_away->Text(i, 0));
    }
  }
  return committed;
}

absl::Status PostgresJournal::Heartbeat() {
  absl::MutexLock lock(&connection_mu_);
  if (absl::Status s = EnsureConnected(); !s.ok()) return s;
  return lease_.Renew(*connection_);
}

bool PostgresJournal::AdoptOnce() {
  absl::StatusOr<PgNodeLease::Adoption> adoption;
  {
    absl::MutexLock lock(&connection_mu_);
    if (!EnsureConnected().ok()) return false;
    adoption = lease_.AdoptOnce(*connection_, options_.max_adopted_per_commit);
  }
  if (absl::IsFailedPrecondition(adoption.status())) {
    LoseLease(adoption.status());
  }
  if (!adoption.ok() || adoption->futures.empty()) return false;
  const bool more = adoption->futures.size() >=
                    static_cast<size_t>(options_.max_adopted_per_commit);
  adopted_(adoption->lost_node, std::move(adoption->futures));
  return more;
}

bool PostgresJournal::ClaimOnce() {
  {
    absl::MutexLock lock(&mu_);
    if (!claiming_ || !lost_.ok() || closing_) return true;
    // Writes of its own waiting (a batch of submits arriving): not idle,
    // and a claim would hold them back.
    if (!queue_.empty()) return true;
  }
  Journal::ClaimRoom room = room_();
  if (room.count <= 0 || room.pools.empty() || room.functions.empty()) {
    return true;
  }
  absl::StatusOr<std::vector<JournaledFuture>> claimed;
  {
    absl::MutexLock lock(&connection_mu_);
    if (!EnsureConnected().ok()) return false;
    claimed = lease_.ClaimPending(
        *connection_, room.pools, room.functions,
        absl::Now() - options_.claim_interval,
        std::min(room.count, options_.max_claimed_per_commit));
  }
  if (absl::IsFailedPrecondition(claimed.status())) {
    LoseLease(claimed.status());
  }
  if (!claimed.ok() || claimed->empty()) return false;
  claimed_(*std::move(claimed));
  return true;
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

void PostgresJournal::Acknowledge(
    std::vector<Op>& ops, const absl::Status& written,
    const absl::Status& looked, const absl::flat_hash_set<std::string>& lost) {
  for (Op& op : ops) {
    std::visit(
        [&](auto& o) {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, LookUpOp>) {
            if (o.found) std::move(o.found)(looked);
          } else if constexpr (std::is_same_v<T, journal_ops::StartOp>) {
            std::vector<std::string> lost_here;
            for (const std::string& id : o.ids) {
              if (lost.contains(id)) lost_here.push_back(id);
            }
            journal_ops::Acknowledge(o, written, std::move(lost_here));
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
  if (EnsureConnected().ok()) lease_.GiveUp(*connection_);
}

JournalStats PostgresJournal::Stats() const {
  absl::MutexLock lock(&mu_);
  JournalStats stats = stats_;
  stats.path = target_;
  return stats;
}

}  // namespace futured::server
