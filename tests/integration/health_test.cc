// grpc.health.v1.Health on the real daemon: the server as a whole and the
// Executor service are SERVING, an unknown name is NOT_FOUND, and SIGTERM
// ends the process cleanly.

#include <sys/wait.h>

#include <csignal>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"

namespace futured::testing {
namespace {

using ::grpc::health::v1::Health;
using ::grpc::health::v1::HealthCheckRequest;
using ::grpc::health::v1::HealthCheckResponse;

constexpr absl::Duration kRpcDeadline = absl::Seconds(10);

// Health/Check for `service`; the call's status, and the answer in *response.
grpc::Status Check(Health::Stub& stub, const std::string& service,
                   HealthCheckResponse* response) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + kRpcDeadline));
  HealthCheckRequest request;
  request.set_service(service);
  return stub.Check(&context, request, response);
}

TEST(HealthTest, ServerAndExecutorServeUnknownIsNotFoundSigtermExitsZero) {
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start({});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  std::unique_ptr<Health::Stub> health =
      Health::NewStub((*daemon)->NewChannel());

  for (const std::string service : {"", "futured.v1.Executor"}) {
    HealthCheckResponse response;
    grpc::Status status = Check(*health, service, &response);
    if (!status.ok()) {
      ADD_FAILURE() << "Check(\"" << service << "\"): " << status.error_code()
                    << " " << status.error_message();
      continue;
    }
    EXPECT_EQ(response.status(), HealthCheckResponse::SERVING)
        << "service \"" << service << "\": " << response.ShortDebugString();
  }

  HealthCheckResponse unknown;
  grpc::Status status = Check(*health, "no.such.Service", &unknown);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
      << status.error_message();

  absl::StatusOr<int> wait_status = (*daemon)->Stop(SIGTERM);
  ASSERT_TRUE(wait_status.ok()) << wait_status.status();
  EXPECT_TRUE(WIFEXITED(*wait_status)) << "wait status " << *wait_status;
  EXPECT_EQ(WEXITSTATUS(*wait_status), 0) << "wait status " << *wait_status;
}

}  // namespace
}  // namespace futured::testing
