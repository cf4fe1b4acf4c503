#include "server/store/journal_backlog.h"

#include <utility>

namespace futured::server {
namespace {

struct Applier {
  JournaledFuture& f;

  void operator()(const StartChange& c) const {
    if (f.state != FutureState::kPending) return;
    f.state = FutureState::kRunning;
    f.start_time = c.start_time;
    f.worker_pid = c.worker_pid;
  }
  void operator()(const UnstartChange&) const {
    if (f.state != FutureState::kRunning) return;
    f.state = FutureState::kPending;
    f.start_time.reset();
    f.worker_pid = 0;
  }
  void operator()(const EndChange& c) const {
    f.state = c.state;
    f.start_time = c.ending.start_time;
    f.ending = c.ending;
  }
  void operator()(const RetryChange& c) const {
    if (f.state != FutureState::kPending && f.state != FutureState::kRunning) {
      return;
    }
    f.state = FutureState::kPending;
    f.attempt = c.attempt;
    f.earlier_attempts = c.earlier;
    f.start_time.reset();
    f.worker_pid = 0;
  }
};

}  // namespace

void ApplyChange(const RecordChange& change, JournaledFuture& future) {
  std::visit(Applier{future}, change);
}

const std::string& JournalBacklog::IdAt(const Generation& g, size_t i) {
  return i < g.carried.size() ? *g.carried[i] : *g.order[i - g.carried.size()];
}

BackloggedFuture& JournalBacklog::EntryLocked(const std::string& id,
                                              bool carried) {
  auto [it, added] = newer_.futures.try_emplace(id);
  if (added) (carried ? newer_.carried : newer_.order).push_back(&it->first);
  if (carried && !it->second.carried) {
    if (!added) newer_.carried.push_back(&it->first);
    it->second.carried = true;
  }
  return it->second;
}

void JournalBacklog::ChangeLocked(const std::string& id, RecordChange change) {
  BackloggedFuture& entry = EntryLocked(id);
  if (entry.whole) {
    ApplyChange(change, *entry.whole);
  } else if (!entry.forgotten) {
    entry.changes.push_back(std::move(change));
  }
}

void JournalBacklog::ForgetLocked(const std::string& id) {
  BackloggedFuture& entry = EntryLocked(id);
  entry.changes.clear();
  // Accepted in this generation: nothing of it reaches the table (the entry
  // stays, empty, so that the order keeps one position per ID).
  entry.forgotten = !entry.whole.has_value() || entry.has_row;
  entry.whole.reset();
}

void JournalBacklog::CarryLocked(JournaledFuture future) {
  std::string id = future.call.id;
  BackloggedFuture& entry = EntryLocked(id, /*carried=*/true);
  // Its changes in this generation are in `future` already.
  entry.changes.clear();
  entry.whole = std::move(future);
}

void JournalBacklog::AddRowLocked(int64_t row, int64_t records) {
  Generation& g = newer_;
  if (g.first_row == 0) g.first_row = row;
  g.last_row = row;
  if (g.records == 0) g.began = absl::Now();
  g.records += records;
}

void JournalBacklog::Add(journal_ops::Op<>& op, int64_t row, bool carried) {
  absl::MutexLock lock(&mu_);
  AddRowLocked(
      row, static_cast<int64_t>(std::visit(
               [](const auto& o) { return journal_ops::RecordsIn(o); }, op)));
  if (auto* accept = std::get_if<journal_ops::AcceptOp>(&op)) {
    for (AcceptedCall& call : accept->calls) {
      std::string id = call.id;
      BackloggedFuture& entry = EntryLocked(id, carried);
      // Carried: what the log held of it before is in the records to come.
      entry.changes.clear();
      entry.whole.emplace().call = std::move(call);
    }
  } else if (auto* start = std::get_if<journal_ops::StartOp>(&op)) {
    for (const std::string& id : start->ids) {
      ChangeLocked(id, StartChange{start->start_time, start->worker_pid});
    }
  } else if (auto* unstart = std::get_if<journal_ops::UnstartOp>(&op)) {
    for (const std::string& id : unstart->ids) {
      ChangeLocked(id, UnstartChange{});
    }
  } else if (auto* end = std::get_if<journal_ops::EndOp>(&op)) {
    ChangeLocked(end->id, EndChange{end->state, std::move(end->ending)});
  } else if (auto* retry = std::get_if<journal_ops::RetryOp>(&op)) {
    ChangeLocked(retry->id,
                 RetryChange{retry->attempt, std::move(retry->earlier)});
  } else if (auto* forget = std::get_if<journal_ops::ForgetOp>(&op)) {
    for (const std::string& id : forget->ids) ForgetLocked(id);
  }
}

void JournalBacklog::Hold() {
  absl::MutexLock lock(&mu_);
  held_ = true;
}

bool JournalBacklog::Replay(JournaledFuture& row) {
  absl::MutexLock lock(&mu_);
  auto it = newer_.futures.find(row.call.id);
  if (it == newer_.futures.end()) return true;
  BackloggedFuture& entry = it->second;
  // Whole in the log, and written to the table by a fold a crash cut short.
  if (entry.whole) entry.has_row = true;
  if (entry.whole || entry.forgotten) return false;
  for (const RecordChange& change : entry.changes) ApplyChange(change, row);
  return true;
}

bool JournalBacklog::Holds(absl::string_view id) const {
  absl::MutexLock lock(&mu_);
  return newer_.futures.contains(id);
}

void JournalBacklog::ForEachWhole(
    absl::FunctionRef<void(JournaledFuture&)> each) {
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < PositionsIn(newer_); ++i) {
    BackloggedFuture& entry = newer_.futures.find(IdAt(newer_, i))->second;
    const bool listed_as_carried = i < newer_.carried.size();
    if (entry.whole && entry.carried == listed_as_carried) {
      // A copy: `each` may move from it, and the entry is folded later.
      JournaledFuture copy = *entry.whole;
      each(copy);
    }
  }
}

void JournalBacklog::Resume(JournalBacklog&& replayed) {
  absl::MutexLock lock(&mu_);
  {
    absl::MutexLock other(&replayed.mu_);
    older_ = std::move(replayed.newer_);
    replayed.newer_ = Generation();
  }
  held_ = false;
}

void JournalBacklog::RotateIfDue(absl::Time now, bool all) {
  absl::MutexLock lock(&mu_);
  if (held_ || older_.last_row != 0 || newer_.last_row == 0) return;
  if (!all && newer_.records < options_.fold_records &&
      now - newer_.began < options_.fold_age) {
    return;
  }
  older_ = std::move(newer_);
  newer_ = Generation();
}

absl::StatusOr<JournalBacklog::Chunk> JournalBacklog::FoldSome(size_t max,
                                                               Writer write) {
  absl::MutexLock lock(&mu_);
  Chunk chunk;
  if (held_ || older_.last_row == 0) return chunk;
  Generation& g = older_;
  for (; chunk.taken < max && g.next + chunk.taken < PositionsIn(g);
       ++chunk.taken) {
    const size_t i = g.next + chunk.taken;
    const std::string& id = IdAt(g, i);
    BackloggedFuture& entry = g.futures.find(id)->second;
    // Listed among those carried, and among those that began here too.
    if (entry.carried != (i < g.carried.size())) continue;
    if (entry.whole && !entry.carried && !entry.has_row) {
      JournaledFuture now = *entry.whole;
      auto newer = newer_.futures.find(id);
      if (newer != newer_.futures.end()) {
        if (newer->second.forgotten) continue;  // gone: nothing to keep
        for (const RecordChange& c : newer->second.changes) {
          ApplyChange(c, now);
        }
      }
      chunk.carried.push_back(std::move(now));
      continue;
    }
    // Accepted and forgotten here: nothing to write.
    if (!entry.whole && !entry.forgotten && entry.changes.empty()) continue;
    if (absl::Status written = write(id, entry); !written.ok()) return written;
  }
  if (g.next + chunk.taken == PositionsIn(g)) {
    chunk.rows = std::pair(g.first_row, g.last_row);
  }
  return chunk;
}

void JournalBacklog::Folded(Chunk& chunk, int64_t row) {
  absl::MutexLock lock(&mu_);
  if (!chunk.carried.empty()) AddRowLocked(row, 0);
  for (JournaledFuture& future : chunk.carried) {
    CarryLocked(std::move(future));
  }
  // Entries stay until their generation is done: `carried` and `order`
  // point at their keys.
  older_.next += chunk.taken;
  if (chunk.rows) older_ = Generation();
}

bool JournalBacklog::empty() const {
  absl::MutexLock lock(&mu_);
  return older_.last_row == 0 && newer_.last_row == 0;
}

bool JournalBacklog::folding() const {
  absl::MutexLock lock(&mu_);
  return !held_ && older_.last_row != 0;
}

std::optional<AcceptedCall> JournalBacklog::FindCall(
    absl::string_view id) const {
  absl::MutexLock lock(&mu_);
  for (const Generation* g : {&newer_, &older_}) {
    auto it = g->futures.find(id);
    if (it != g->futures.end() && it->second.whole) {
      return it->second.whole->call;
    }
  }
  return std::nullopt;
}

}  // namespace futured::server
