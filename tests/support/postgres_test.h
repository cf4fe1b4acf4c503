// A GoogleTest fixture base for tests that need a real PostgreSQL: a
// throw-away server (PostgresServer) and a fresh database per test.
// Header-only: futured_test_postgres does not link GoogleTest.
#ifndef FUTURED_TESTS_SUPPORT_POSTGRES_TEST_H_
#define FUTURED_TESTS_SUPPORT_POSTGRES_TEST_H_

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "tests/support/postgres_server.h"

namespace futured::testing {

// SetUp() starts the server and creates the database that conninfo_ names;
// the server stops when the fixture goes. A derived SetUp() calls this one
// first, under ASSERT_NO_FATAL_FAILURE.
class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<PostgresServer>> server =
        PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    absl::StatusOr<std::string> db = server_->CreateDatabase();
    ASSERT_TRUE(db.ok()) << db.status();
    conninfo_ = *db;
  }

  std::unique_ptr<PostgresServer> server_;
  std::string conninfo_;
};

}  // namespace futured::testing

#endif  // FUTURED_TESTS_SUPPORT_POSTGRES_TEST_H_
