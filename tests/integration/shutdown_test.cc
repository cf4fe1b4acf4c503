// Graceful shutdown of the real daemon: SIGTERM and SIGINT end it with exit
// status 0, every waiting Result call is answered rather than left hanging,
// and a unix socket file is removed on the way out.

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "futured/v1/executor.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/async_result_calls.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/executor_calls.h"

namespace futured::testing {
namespace {

using ::futured::v1::FutureInfo;

// Far above --shutdown_grace (5 s by default): a daemon that does not exit
// within it is stuck, not slow.
constexpr absl::Duration kStopTimeout = absl::Seconds(30);

// Submits sleep(seconds) and returns its future's ID ("" on failure, which
// is reported).
std::string SubmitSleep(ExecutorCalls& calls, double seconds) {
  std::string id;
  grpc::Status status =
      calls.Submit(CallOf("sleep", {NumberValue(seconds)}), &id);
  EXPECT_TRUE(status.ok()) << StatusText(status);
  return id;
}

// Submits sleep(3600) and waits until it runs: *id names it. Call it under
// ASSERT_NO_FATAL_FAILURE.
void StartRunningSleep(ExecutorCalls& calls, std::string* id) {
  *id = SubmitSleep(calls, 3600);
  ASSERT_FALSE(id->empty());
  absl::StatusOr<FutureInfo> info =
      calls.AwaitState(*id, v1::FUTURE_STATE_RUNNING);
  ASSERT_TRUE(info.ok()) << info.status();
}

// Expects every call ended UNAVAILABLE (the daemon's shutdown answer) or, if
// the connection went first, CANCELLED; prints how many got which.
void ExpectAllUnavailable(const AsyncResultCalls& waiters,
                          absl::string_view what) {
  std::map<std::string, int> outcomes;
  for (const AsyncResultCalls::Call& call : waiters.calls()) {
    ++outcomes[StatusText(call.status)];
    const grpc::StatusCode code = call.status.error_code();
    EXPECT_TRUE(code == grpc::StatusCode::UNAVAILABLE ||
                code == grpc::StatusCode::CANCELLED)
        << what << ": " << StatusText(call.status) << " "
        << call.response.ShortDebugString();
  }
  for (const auto& [status, count] : outcomes) {
    std::cout << what << ": " << count << " x " << status << "\n";
  }
}

void ExpectExitedZero(absl::StatusOr<int> wait_status) {
  ASSERT_TRUE(wait_status.ok()) << wait_status.status();
  EXPECT_TRUE(WIFEXITED(*wait_status)) << "wait status " << *wait_status;
  EXPECT_EQ(WEXITSTATUS(*wait_status), 0) << "wait status " << *wait_status;
}

TEST(ShutdownTest, SigtermAnswersEveryWaitingResultAndExitsZero) {
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start({.flags = {"--threads=1"}});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  ExecutorCalls calls((*daemon)->NewChannel());

  std::string running;
  ASSERT_NO_FATAL_FAILURE(StartRunningSleep(calls, &running));
  const std::string queued = SubmitSleep(calls, 3600);
  ASSERT_FALSE(queued.empty());

  AsyncResultCalls on_queued(calls.stub(), queued, 10);
  AsyncResultCalls on_running(calls.stub(), running, 5);
  absl::StatusOr<v1::GetStatsResponse> stats = calls.AwaitStats(
      [](const v1::GetStatsResponse& s) { return s.waiting_calls() >= 15; });
  ASSERT_TRUE(stats.ok()) << stats.status();
  absl::StatusOr<FutureInfo> info =
      calls.AwaitState(queued, v1::FUTURE_STATE_PENDING);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(on_queued.Ended() + on_running.Ended(), 0);

  ExpectExitedZero((*daemon)->Stop(SIGTERM, kStopTimeout));

  // The process is gone, so every call has ended one way or another; the
  // bound only keeps a broken client from hanging the test.
  ASSERT_TRUE(on_queued.WaitAll(absl::Seconds(30)))
      << on_queued.Ended() << " of 10 ended";
  ASSERT_TRUE(on_running.WaitAll(absl::Seconds(30)))
      << on_running.Ended() << " of 5 ended";
  ExpectAllUnavailable(on_queued, "Result on the queued future");
  ExpectAllUnavailable(on_running, "Result on the running future");
}

TEST(ShutdownTest, SigintExitsZero) {
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start({.flags = {"--threads=1", "--shutdown_grace=1s"}});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  ExecutorCalls calls((*daemon)->NewChannel());
  std::string running;
  ASSERT_NO_FATAL_FAILURE(StartRunningSleep(calls, &running));

  ExpectExitedZero((*daemon)->Stop(SIGINT, kStopTimeout));
}

TEST(ShutdownTest, UnixSocketFileIsRemovedOnShutdown) {
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
      DaemonProcess::Start({.unix_socket = true, .flags = {}});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  absl::string_view path = (*daemon)->address();
  ASSERT_TRUE(absl::ConsumePrefix(&path, "unix:")) << (*daemon)->address();
  const std::string socket_path(path);

  struct stat st;
  ASSERT_EQ(stat(socket_path.c_str(), &st), 0) << socket_path;
  EXPECT_TRUE(S_ISSOCK(st.st_mode)) << socket_path;
  {  // It serves on that socket.
    ExecutorCalls calls((*daemon)->NewChannel());
    v1::GetStatsResponse stats;
    grpc::Status status = calls.GetStats(&stats);
    EXPECT_TRUE(status.ok()) << StatusText(status);
  }

  ExpectExitedZero((*daemon)->Stop(SIGTERM, kStopTimeout));
  errno = 0;
  EXPECT_NE(stat(socket_path.c_str(), &st), 0)
      << socket_path << " still exists after shutdown";
  EXPECT_EQ(errno, ENOENT) << socket_path;
}

}  // namespace
}  // namespace futured::testing
