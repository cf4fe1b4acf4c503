// PostgresJournal's reads: this node's futures at start, and any node's
// future by ID.
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/store/postgres_connection.h"
#include "server/store/postgres_journal.h"
#include "server/store/postgres_rows.h"

namespace futured::server {

absl::Status PostgresJournal::Recover(Recovered each) {
  absl::StatusOr<std::vector<JournaledFuture>> futures;
  {
    absl::MutexLock lock(&connection_mu_);
    if (absl::Status s = EnsureConnected(); !s.ok()) return s;
    absl::StatusOr<PgRows> rows = connection_->Run(
        {absl::StrCat("SELECT ", kPgFutureColumns,
                      " FROM futured_futures WHERE node = $1 ORDER BY seq"),
         {options_.node}});
    if (!rows.ok()) return rows.status();
    futures = PgRowsToFutures(*rows);
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
      connection_->Run({absl::StrCat("SELECT ", kPgFutureColumns,
                                     " FROM futured_futures WHERE id = $1"),
                        {std::string(id)}});
  if (!rows.ok()) return rows.status();
  if (rows->size() == 0) {
    return absl::NotFoundError(absl::StrCat("the journal has no future ", id));
  }
  absl::StatusOr<JournaledFuture> future = PgRowToFuture(*rows, 0);
  if (!future.ok()) return future.status();
  return std::move(future->call);
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
        {absl::StrCat("SELECT ", kPgFutureColumns,
                      " FROM futured_futures WHERE id = ANY($1::text[])"),
         {PgArray(ids)}});
    if (!rows.ok()) return rows.status();
    found = PgRowsToFutures(*rows);
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

}  // namespace futured::server
