// A GoogleTest fixture for the client library's integration tests: one real
// futured per test and a futured::Client connected to it.
//
// Header-only: a client_fixture.cc here would be globbed as a test.
#ifndef FUTURED_TESTS_INTEGRATION_CLIENT_FIXTURE_H_
#define FUTURED_TESTS_INTEGRATION_CLIENT_FIXTURE_H_

#include <sys/wait.h>

#include <csignal>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "futured/futured.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/poll_until.h"

namespace futured::testing {

// How long a test waits for a condition before it fails (a bound on the
// loop, not a timing assertion).
inline constexpr absl::Duration kPollLimit = absl::Seconds(60);
// A task that runs until it is cancelled (or the test ends).
inline constexpr double kLongSleepSeconds = 3600;

// StartDaemon() starts futured on a unix socket with extra flags and
// connects client_; TearDown() destroys the client, then stops the daemon
// with SIGTERM and expects exit status 0. Used by the test thread only.
class ClientTest : public ::testing::Test {
 protected:
  void StartDaemon(std::vector<std::string> flags = {}) {
    absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
        DaemonProcess::Start({.unix_socket = true, .flags = std::move(flags)});
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
    client_ = std::make_unique<Client>(daemon_->address());
  }

  void TearDown() override {
    client_.reset();
    if (daemon_ == nullptr) return;
    absl::StatusOr<int> wait_status = daemon_->Stop(SIGTERM);
    ASSERT_TRUE(wait_status.ok()) << wait_status.status();
    EXPECT_TRUE(WIFEXITED(*wait_status) && WEXITSTATUS(*wait_status) == 0)
        << "wait status " << *wait_status;
  }

  // Waits until the daemon runs `future`.
  static void AwaitRunning(const FutureBase& future) {
    ASSERT_TRUE(PollUntil([&] { return future.running(); }))
        << "future " << future.id() << " never started";
  }

  // The stats of the pool named `name`.
  PoolStats Pool(const std::string& name = "thread") {
    for (const PoolStats& pool : client_->stats().pools) {
      if (pool.name == name) return pool;
    }
    ADD_FAILURE() << "no pool " << name;
    return {};
  }

  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<Client> client_;
};

// A ClientTest run once per daemon pool: GetParam() is "thread" or
// "process". Instantiate it with
//   INSTANTIATE_TEST_SUITE_P(BothPools, <Suite>, kBothPools, PoolName);
class ClientPoolTest : public ClientTest,
                       public ::testing::WithParamInterface<std::string> {
 protected:
  // futured with `workers` workers in each pool.
  void StartDaemonWithWorkers(int workers) {
    StartDaemon({"--threads=" + std::to_string(workers),
                 "--processes=" + std::to_string(workers)});
  }
  Executor PoolExecutor() { return client_->executor(GetParam()); }
};

inline const auto kBothPools = ::testing::Values("thread", "process");
inline std::string PoolName(const ::testing::TestParamInfo<std::string>& p) {
  return p.param;
}

}  // namespace futured::testing

#endif  // FUTURED_TESTS_INTEGRATION_CLIENT_FIXTURE_H_
