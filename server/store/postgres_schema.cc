#include "server/store/postgres_schema.h"

#include <cstdint>
#include <iterator>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"

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
    // Any node answers any future (schema 3): requests to the node that
    // owns a future (cancel, release), answered in place (PostgresBus).
    R"sql(
CREATE TABLE futured_requests (
  seq bigserial PRIMARY KEY,
  future_id text NOT NULL,
  principal text NOT NULL,
  kind smallint NOT NULL,
  requester text NOT NULL,
  answered boolean NOT NULL DEFAULT false,
  answer bigint,
  message text
);
CREATE INDEX futured_requests_future ON futured_requests (future_id)
  WHERE NOT answered;
CREATE INDEX futured_requests_requester ON futured_requests (requester)
  WHERE answered;
)sql",
};
static_assert(std::size(kMigrations) == kPostgresSchemaVersion);

}  // namespace

absl::Status MigratePostgresSchema(PgConnection& db) {
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
  if (found > kPostgresSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "database ", db.Target(), " has futured schema version ", found,
        ", newer than this futured's ", kPostgresSchemaVersion,
        ": run the futured that wrote it (every node of a cluster must be "
        "as new as the newest)"));
  }
  for (int64_t v = found; v < kPostgresSchemaVersion; ++v) {
    if (absl::Status s = db.RunScript(kMigrations[v]); !s.ok()) return s;
  }
  if (found < kPostgresSchemaVersion) {
    if (absl::Status s = db.RunScript(absl::StrCat(
            "DELETE FROM futured_schema; INSERT INTO futured_schema VALUES (",
            kPostgresSchemaVersion, ")"));
        !s.ok()) {
      return s;
    }
  }
  std::move(rollback).Cancel();
  return db.RunScript("COMMIT");
}

}  // namespace futured::server
