// A GoogleTest fixture base for tests that run one futured per test and call
// it over gRPC.
//
// Header-only on purpose: futured_test_daemon does not link GoogleTest, and a
// daemon_test.cc here would be globbed as a test of its own.
#ifndef FUTURED_TESTS_INTEGRATION_DAEMON_TEST_H_
#define FUTURED_TESTS_INTEGRATION_DAEMON_TEST_H_

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
#include "futured/v1/executor.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/executor_calls.h"

namespace futured::testing {

// Polls the health service (every 10 ms, at most 30 s) until the daemon
// says NOT_SERVING: it has received its stop signal.
inline void AwaitNotServing(const std::shared_ptr<grpc::Channel>& channel) {
  std::unique_ptr<grpc::health::v1::Health::Stub> health =
      grpc::health::v1::Health::NewStub(channel);
  for (int i = 0; i < 3000; ++i) {
    grpc::ClientContext context;
    SetDeadline(&context, absl::Seconds(5));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    grpc::Status status = health->Check(&context, request, &response);
    if (status.ok() && response.status() ==
                           grpc::health::v1::HealthCheckResponse::NOT_SERVING) {
      return;
    }
    absl::SleepFor(absl::Milliseconds(10));
  }
  ADD_FAILURE() << "the daemon never said NOT_SERVING";
}

// Base of fixtures whose tests start one futured with StartDaemon() and call
// it through calls_. TearDown() stops a started daemon with SIGTERM and
// expects it to exit with status 0; a test that stops the daemon itself
// resets daemon_ afterwards. The Must* helpers make one call, add a
// non-fatal failure if it fails, and then return an empty answer. Like any
// fixture it is used by the test thread only; each method blocks for at most
// its calls' deadlines.
class DaemonTest : public ::testing::Test {
 protected:
  // Starts futured on a unix socket or on 127.0.0.1:0, with extra `flags`.
  // Call it under ASSERT_NO_FATAL_FAILURE.
  void StartDaemon(bool unix_socket, std::vector<std::string> flags = {}) {
    absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
        DaemonProcess::Start(
            {.unix_socket = unix_socket, .flags = std::move(flags)});
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
    calls_ = std::make_unique<ExecutorCalls>(daemon_->NewChannel());
  }

  void TearDown() override {
    calls_.reset();
    if (daemon_ == nullptr) return;
    absl::StatusOr<int> wait_status = daemon_->Stop(SIGTERM);
    ASSERT_TRUE(wait_status.ok()) << wait_status.status();
    EXPECT_TRUE(WIFEXITED(*wait_status))
        << "futured did not exit normally; wait status " << *wait_status;
    EXPECT_EQ(WEXITSTATUS(*wait_status), 0);
  }

  std::string MustSubmit(const futured::v1::SubmitRequest& request) {
    std::string id;
    grpc::Status status = calls_->Submit(request, &id);
    EXPECT_TRUE(status.ok())
        << request.ShortDebugString() << ": " << StatusText(status);
    EXPECT_FALSE(id.empty()) << request.ShortDebugString();
    return id;
  }

  futured::v1::FutureInfo MustGetFuture(const std::string& id) {
    futured::v1::FutureInfo info;
    grpc::Status status = calls_->GetFuture(id, &info);
    EXPECT_TRUE(status.ok()) << id << ": " << StatusText(status);
    return info;
  }

  futured::v1::FutureInfo MustResult(const std::string& id) {
    futured::v1::ResultRequest request;
    request.set_id(id);
    futured::v1::FutureInfo info;
    grpc::Status status = calls_->Result(request, &info);
    EXPECT_TRUE(status.ok()) << id << ": " << StatusText(status);
    return info;
  }

  futured::v1::CancelResponse MustCancel(const std::string& id) {
    futured::v1::CancelResponse response;
    grpc::Status status = calls_->Cancel(id, &response);
    EXPECT_TRUE(status.ok()) << id << ": " << StatusText(status);
    return response;
  }

  futured::v1::FutureInfo MustAwaitState(const std::string& id,
                                         futured::v1::FutureState state) {
    absl::StatusOr<futured::v1::FutureInfo> info =
        calls_->AwaitState(id, state);
    EXPECT_TRUE(info.ok()) << info.status();
    return info.value_or(futured::v1::FutureInfo());
  }

  futured::v1::GetStatsResponse MustAwaitStats(
      const std::function<bool(const futured::v1::GetStatsResponse&)>&
          condition) {
    absl::StatusOr<futured::v1::GetStatsResponse> stats =
        calls_->AwaitStats(condition);
    EXPECT_TRUE(stats.ok()) << stats.status();
    return stats.value_or(futured::v1::GetStatsResponse());
  }

  std::unique_ptr<DaemonProcess> daemon_;  // null until StartDaemon()
  std::unique_ptr<ExecutorCalls> calls_;   // calls daemon_
};

}  // namespace futured::testing

#endif  // FUTURED_TESTS_INTEGRATION_DAEMON_TEST_H_
