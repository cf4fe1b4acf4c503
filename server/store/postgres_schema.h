// The schema of futured's tables in PostgreSQL: created and migrated by the
// daemon at start, versioned.
#ifndef FUTURED_SERVER_STORE_POSTGRES_SCHEMA_H_
#define FUTURED_SERVER_STORE_POSTGRES_SCHEMA_H_

#include "absl/status/status.h"
#include "server/store/postgres_connection.h"

namespace futured::server {

// The version of the schema this build writes (table futured_schema).
inline constexpr int kPostgresSchemaVersion = 3;

// Creates the schema or migrates it to kPostgresSchemaVersion, in one
// transaction under an advisory lock (nodes starting at once take turns).
// FAILED_PRECONDITION when the database has a newer schema; the
// connection's errors otherwise.
absl::Status MigratePostgresSchema(PgConnection& db);

}  // namespace futured::server

#endif  // FUTURED_SERVER_STORE_POSTGRES_SCHEMA_H_
