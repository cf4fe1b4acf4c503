#include "server/store/postgres_bus.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "server/store/postgres_connection.h"
#include "server/store/postgres_rows.h"

namespace futured::server {
namespace {

constexpr char kRequestsChannel[] = "futured_requests";
constexpr char kAnswersChannel[] = "futured_answers";
// PostgreSQL refuses payloads of 8000 bytes or more.
constexpr size_t kMaxPayload = 7900;

absl::Status Listen(PgConnection& db) {
  return db.RunScript(absl::StrCat("LISTEN ", PostgresBus::kEndedChannel,
                                   "; LISTEN ", kRequestsChannel, "; LISTEN ",
                                   kAnswersChannel));
}

// An answer as stored: a value >= 0, or minus the status code and a message.
std::pair<PgParam, PgParam> StoredAnswer(const absl::StatusOr<int64_t>& a) {
  if (a.ok()) return {PgInt(*a), std::nullopt};
  return {PgInt(-static_cast<int64_t>(a.status().code())),
          std::string(a.status().message())};
}

absl::StatusOr<int64_t> AnswerOf(const PgRows& rows, int i) {
  const int64_t answer = rows.Int(i, 1);
  if (answer >= 0) return answer;
  return absl::Status(static_cast<absl::StatusCode>(-answer),
                      rows.IsNull(i, 2) ? "" : rows.Text(i, 2));
}

}  // namespace

std::vector<PgParam> PostgresBus::EndedPayloads(
    const std::vector<std::string>& ids) {
  std::vector<PgParam> payloads;
  std::string payload;
  for (const std::string& id : ids) {
    if (!payload.empty() && payload.size() + 1 + id.size() > kMaxPayload) {
      payloads.push_back(std::exchange(payload, {}));
    }
    absl::StrAppend(&payload, payload.empty() ? "" : " ", id);
  }
  if (!payload.empty()) payloads.push_back(std::move(payload));
  return payloads;
}

absl::StatusOr<std::unique_ptr<PostgresBus>> PostgresBus::Open(
    Options options) {
  absl::StatusOr<std::unique_ptr<PgConnection>> connection =
      PgConnection::Connect(options.conninfo, options.password,
                            absl::StrCat("futured ", options.node, " bus"));
  if (!connection.ok()) return connection.status();
  if (absl::Status s = Listen(**connection); !s.ok()) return s;
  const int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    return absl::InternalError(absl::StrCat("eventfd: ", std::strerror(errno)));
  }
  return std::unique_ptr<PostgresBus>(new PostgresBus(
      std::move(options), *std::move(connection), UniqueFd(wake)));
}

PostgresBus::PostgresBus(Options options,
                         std::unique_ptr<PgConnection> connection,
                         UniqueFd wake)
    : options_(std::move(options)),
      connection_(std::move(connection)),
      wake_(std::move(wake)) {}

PostgresBus::~PostgresBus() { Close(); }

void PostgresBus::Start(Ended ended, Serve serve) {
  ended_ = std::move(ended);
  serve_ = std::move(serve);
  thread_ = std::thread([this] { Loop(); });
}

void PostgresBus::Read(std::vector<std::string> ids, Found found) {
  {
    absl::MutexLock lock(&mu_);
    if (!closing_) {
      reads_.push_back({std::move(ids), std::move(found)});
      Wake();
      return;
    }
  }
  found(absl::UnavailableError("cluster bus: closed (stopping)"));
}

void PostgresBus::Send(std::string owner, Request request, Answered answered) {
  {
    absl::MutexLock lock(&mu_);
    if (!closing_) {
      sends_.push_back(
          {std::move(owner), std::move(request), std::move(answered)});
      Wake();
      return;
    }
  }
  std::move(answered)(absl::UnavailableError("cluster bus: closed (stopping)"));
}

int64_t PostgresBus::ended_notifications() const {
  absl::MutexLock lock(&mu_);
  return ended_notifications_;
}

void PostgresBus::Wake() const {
  const uint64_t one = 1;
  // A full counter already wakes the thread; nothing else can fail here.
  [[maybe_unused]] ssize_t n = write(wake_.get(), &one, sizeof(one));
}

void PostgresBus::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (closing_) return;
    closing_ = true;
    Wake();
  }
  if (thread_.joinable()) thread_.join();
  // Never started, or stopped: fail what is left.
  Turn left = Next(absl::InfinitePast(), false);
  for (ReadOp& read : left.reads) {
    read.found(absl::UnavailableError("cluster bus: closed (stopping)"));
  }
  for (SendOp& send : left.sends) {
    std::move(send.answered)(
        absl::UnavailableError("cluster bus: closed (stopping)"));
  }
  FailAll(absl::UnavailableError("cluster bus: closed (stopping)"));
}

PostgresBus::Turn PostgresBus::Next(absl::Time until, bool connected) {
  const absl::Duration left = until - absl::Now();
  if (left > absl::ZeroDuration()) {
    // A broken connection's socket is always readable: then only the wake.
    pollfd fds[2] = {
        {.fd = wake_.get(), .events = POLLIN, .revents = 0},
        {.fd = connection_->Socket(), .events = POLLIN, .revents = 0}};
    poll(fds, connected ? 2 : 1,
         static_cast<int>(absl::ToInt64Milliseconds(left) + 1));
    uint64_t count = 0;
    [[maybe_unused]] ssize_t n = read(wake_.get(), &count, sizeof(count));
  }
  Turn turn;
  absl::MutexLock lock(&mu_);
  turn.reads = std::exchange(reads_, {});
  turn.sends = std::exchange(sends_, {});
  turn.closing = closing_;
  return turn;
}

void PostgresBus::Loop() {
  absl::Time next_poll = absl::Now();
  bool connected = true;
  // Notifications libpq took in while the last turn ran its statements:
  // the socket will not show them again, so the next turn comes at once.
  std::vector<PgNotification> carried;
  for (;;) {
    Turn turn =
        Next(carried.empty() ? next_poll : absl::InfinitePast(), connected);
    if (turn.closing) {
      for (ReadOp& read : turn.reads) {
        read.found(absl::UnavailableError("cluster bus: closed (stopping)"));
      }
      for (SendOp& send : turn.sends) {
        std::move(send.answered)(
            absl::UnavailableError("cluster bus: closed (stopping)"));
      }
      return;
    }
    absl::StatusOr<bool> reconnected = EnsureListening();
    connected = reconnected.ok();
    if (!reconnected.ok()) {
      for (ReadOp& read : turn.reads) read.found(reconnected.status());
      for (SendOp& send : turn.sends) {
        std::move(send.answered)(reconnected.status());
      }
      next_poll = absl::Now() + std::min(options_.poll, absl::Seconds(1));
      continue;
    }
    const absl::Time now = absl::Now();
    const bool tick = *reconnected || now >= next_poll;
    if (tick) next_poll = now + options_.poll;
    bool requests = tick, answers = tick;
    std::vector<std::string> ended;
    bool any_ended = tick;
    int64_t ended_count = 0;
    std::vector<PgNotification> notifications = std::exchange(carried, {});
    for (PgNotification& n : connection_->TakeNotifications()) {
      notifications.push_back(std::move(n));
    }
    for (PgNotification& n : notifications) {
      if (n.channel == kEndedChannel) {
        ++ended_count;
        for (absl::string_view id : absl::StrSplit(n.payload, ' ')) {
          ended.emplace_back(id);
        }
      } else if (n.payload == options_.node) {
        requests = requests || n.channel == kRequestsChannel;
        answers = answers || n.channel == kAnswersChannel;
      }
    }
    DoSends(turn.sends);
    DoReads(turn.reads);
    if (requests) ServeRequests().IgnoreError();  // again at the next poll
    if (answers) TakeAnswers().IgnoreError();
    if (tick) {
      GiveUpOnLate(now);
      SweepRequests();
    }
    if (ended_count > 0) {
      absl::MutexLock lock(&mu_);
      ended_notifications_ += ended_count;
    }
    if (any_ended) {
      ended_({});
    } else if (!ended.empty()) {
      ended_(ended);
    }
    carried = connection_->TakeNotifications();
  }
}

absl::StatusOr<bool> PostgresBus::EnsureListening() {
  if (connection_->Usable()) return false;
  if (absl::Status s = connection_->Reconnect(); !s.ok()) return s;
  if (absl::Status s = Listen(*connection_); !s.ok()) return s;
  return true;
}

void PostgresBus::DoReads(std::vector<ReadOp>& reads) {
  if (reads.empty()) return;
  std::vector<PgParam> ids;
  for (const ReadOp& read : reads)
    ids.insert(ids.end(), read.ids.begin(), read.ids.end());
  absl::StatusOr<PgRows> rows = connection_->Run(
      {absl::StrCat("SELECT ", kPgFutureColumns,
                    ", node FROM futured_futures WHERE id = ANY($1::text[])"),
       {PgArray(ids)}});
  std::vector<Located> found;
  absl::Status status = rows.status();
  if (rows.ok()) {
    absl::StatusOr<std::vector<JournaledFuture>> futures =
        PgRowsToFutures(*rows);
    status = futures.status();
    if (futures.ok()) {
      // PgRowsToFutures sorts by seq: match the nodes by ID.
      std::map<std::string, std::string> nodes;
      for (int i = 0; i < rows->size(); ++i) {
        nodes[rows->Text(i, 0)] = rows->Text(i, 21);
      }
      for (JournaledFuture& f : *futures) {
        found.push_back({nodes[f.call.id], std::move(f)});
      }
    }
  }
  for (ReadOp& read : reads) {
    if (!status.ok()) {
      read.found(status);
      continue;
    }
    const std::set<std::string> wanted(read.ids.begin(), read.ids.end());
    std::vector<Located> mine;
    for (const Located& l : found) {
      if (wanted.contains(l.future.call.id)) mine.push_back(l);
    }
    read.found(std::move(mine));
  }
}

void PostgresBus::DoSends(std::vector<SendOp>& sends) {
  if (sends.empty()) return;
  absl::Status status = connection_->RunScript("BEGIN");
  std::vector<int64_t> seqs;
  std::set<std::string> owners;
  for (SendOp& send : sends) {
    if (!status.ok()) break;
    absl::StatusOr<PgRows> row = connection_->Run(
        {"INSERT INTO futured_requests (future_id, principal, kind, "
         "requester) VALUES ($1, $2, $3, $4) RETURNING seq",
         {send.request.future_id, send.request.principal,
          PgInt(static_cast<int>(send.request.kind)), options_.node}});
    status = row.status();
    if (row.ok()) seqs.push_back(row->Int(0, 0));
    owners.insert(send.owner);
  }
  for (const std::string& owner : owners) {
    if (!status.ok()) break;
    status = connection_
                 ->Run({"SELECT pg_notify($1, $2)", {kRequestsChannel, owner}})
                 .status();
  }
  if (status.ok()) status = connection_->RunScript("COMMIT");
  if (!status.ok()) {
    connection_->RunScript("ROLLBACK").IgnoreError();
    for (SendOp& send : sends) std::move(send.answered)(status);
    return;
  }
  const absl::Time give_up = absl::Now() + options_.request_timeout;
  for (size_t i = 0; i < sends.size(); ++i) {
    unanswered_[seqs[i]] = {std::move(sends[i].answered), give_up};
  }
}

absl::Status PostgresBus::ServeRequests() {
  PgConnection& db = *connection_;
  if (absl::Status s = db.RunScript("BEGIN"); !s.ok()) return s;
  absl::Cleanup rollback = [&db] { db.RunScript("ROLLBACK").IgnoreError(); };
  absl::StatusOr<PgRows> rows = db.Run(
      {"SELECT r.seq, r.future_id, r.principal, r.kind, r.requester "
       "FROM futured_requests r WHERE NOT r.answered AND EXISTS (SELECT 1 "
       "FROM futured_futures f WHERE f.id = r.future_id AND f.node = $1) "
       "ORDER BY r.seq FOR UPDATE OF r SKIP LOCKED",
       {options_.node}});
  if (!rows.ok()) return rows.status();
  if (rows->size() == 0) return absl::OkStatus();
  std::vector<PgParam> seqs, answers, messages;
  std::set<std::string> requesters;
  for (int i = 0; i < rows->size(); ++i) {
    const Request request{.future_id = rows->Text(i, 1),
                          .principal = rows->Text(i, 2),
                          .kind = static_cast<RequestKind>(rows->Int(i, 3))};
    auto [answer, message] = StoredAnswer(serve_(request));
    seqs.push_back(PgInt(rows->Int(i, 0)));
    answers.push_back(std::move(answer));
    messages.push_back(std::move(message));
    requesters.insert(rows->Text(i, 4));
  }
  if (absl::StatusOr<PgRows> updated = db.Run(
          {"UPDATE futured_requests r SET answered = true, answer = a.answer, "
           "message = a.message FROM unnest($1::bigint[], $2::bigint[], "
           "$3::text[]) AS a(seq, answer, message) WHERE r.seq = a.seq",
           {PgArray(seqs), PgArray(answers), PgArray(messages)}});
      !updated.ok()) {
    return updated.status();
  }
  for (const std::string& requester : requesters) {
    if (absl::StatusOr<PgRows> n =
            db.Run({"SELECT pg_notify($1, $2)", {kAnswersChannel, requester}});
        !n.ok()) {
      return n.status();
    }
  }
  std::move(rollback).Cancel();
  return db.RunScript("COMMIT");
}

absl::Status PostgresBus::TakeAnswers() {
  if (unanswered_.empty()) return absl::OkStatus();
  absl::StatusOr<PgRows> rows = connection_->Run(
      {"DELETE FROM futured_requests WHERE requester = $1 AND answered "
       "RETURNING seq, answer, message",
       {options_.node}});
  if (!rows.ok()) return rows.status();
  for (int i = 0; i < rows->size(); ++i) {
    auto it = unanswered_.find(rows->Int(i, 0));
    if (it == unanswered_.end()) continue;  // given up on already
    Answered answered = std::move(it->second.answered);
    unanswered_.erase(it);
    std::move(answered)(AnswerOf(*rows, i));
  }
  return absl::OkStatus();
}

void PostgresBus::GiveUpOnLate(absl::Time now) {
  std::vector<PgParam> late;
  for (auto it = unanswered_.begin(); it != unanswered_.end();) {
    if (it->second.give_up > now) {
      ++it;
      continue;
    }
    late.push_back(PgInt(it->first));
    std::move(it->second.answered)(absl::UnavailableError(
        absl::StrCat("cluster: the node that holds the future did not "
                     "answer within ",
                     absl::FormatDuration(options_.request_timeout))));
    it = unanswered_.erase(it);
  }
  if (late.empty()) return;
  connection_
      ->Run({"DELETE FROM futured_requests WHERE seq = ANY($1::bigint[])",
             {PgArray(late)}})
      .IgnoreError();
}

void PostgresBus::SweepRequests() {
  std::vector<PgParam> waiting;
  waiting.reserve(unanswered_.size());
  for (const auto& [seq, unused] : unanswered_) waiting.push_back(PgInt(seq));
  connection_
      ->Run({"DELETE FROM futured_requests r WHERE (r.requester = $1 AND "
             "r.answered AND r.seq <> ALL($2::bigint[])) OR (r.requester <> $1 "
             "AND EXISTS (SELECT 1 FROM futured_nodes n WHERE n.name = "
             "r.requester AND n.lease_until < now() - make_interval(secs => "
             "$3::double precision)))",
             {options_.node, PgArray(waiting),
              absl::StrCat(absl::ToDoubleSeconds(options_.request_timeout))}})
      .IgnoreError();
}

void PostgresBus::FailAll(const absl::Status& status) {
  for (auto& [seq, waiting] : unanswered_) {
    std::move(waiting.answered)(status);
  }
  unanswered_.clear();
}

}  // namespace futured::server
