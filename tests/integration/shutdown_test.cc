// Graceful shutdown of the real daemon: SIGTERM and SIGINT end it with exit
// status 0; new work is refused (UNAVAILABLE) while running tasks get
// --shutdown_grace; every waiting Result call is answered with its future's
// final state rather than left hanging; a unix socket file is removed on the
// way out. The daemons here keep futures in memory (--state_dir=none), where
// what the stop cancels ends as CANCELLED; with a journal those futures are
// kept for the restart instead (journal_test.cc).

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
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "futured/v1/executor.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/async_result_calls.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/daemon_test.h"
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

// Expects every call answered OK with the future in `state` (its final
// state at shutdown); prints how many got which answer.
void ExpectAllEndedIn(const AsyncResultCalls& waiters, v1::FutureState state,
                      absl::string_view what) {
  std::map<std::string, int> outcomes;
  for (const AsyncResultCalls::Call& call : waiters.calls()) {
    ++outcomes[absl::StrCat(StatusText(call.status), " ",
                            v1::FutureState_Name(call.response.state()))];
    EXPECT_TRUE(call.status.ok()) << what << ": " << StatusText(call.status);
    EXPECT_EQ(call.response.state(), state)
        << what << ": " << call.response.ShortDebugString();
  }
  for (const auto& [outcome, count] : outcomes) {
    std::cout << what << ": " << count << " x " << outcome << "\n";
  }
}

void ExpectExitedZero(absl::StatusOr<int> wait_status) {
  ASSERT_TRUE(wait_status.ok()) << wait_status.status();
  EXPECT_TRUE(WIFEXITED(*wait_status)) << "wait status " << *wait_status;
  EXPECT_EQ(WEXITSTATUS(*wait_status), 0) << "wait status " << *wait_status;
}

TEST(ShutdownTest, SigtermAnswersEveryWaitingResultAndExitsZero) {
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon = DaemonProcess::Start(
      {.flags = {"--threads=1", "--shutdown_grace=1s", "--state_dir=none"}});
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
  // The queued future was cancelled at once; the running one after the
  // grace. Either way its waiters hear the final state.
  ExpectAllEndedIn(on_queued, v1::FUTURE_STATE_CANCELLED,
                   "Result on the queued future");
  ExpectAllEndedIn(on_running, v1::FUTURE_STATE_CANCELLED,
                   "Result on the running future");
}

// Clients waiting during shutdown: a task that ends within the grace gives
// its waiters its value; one that outlives the grace is cancelled and its
// waiters hear FUTURE_STATE_CANCELLED. Meanwhile new work is UNAVAILABLE
// but questions about existing futures are still answered.
TEST(ShutdownTest, WaitingClientsGetEachFuturesFinalState) {
  // The grace is far longer than the short task needs, however slow the
  // machine; the long task is cancelled when it ends.
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon = DaemonProcess::Start(
      {.flags = {"--threads=2", "--shutdown_grace=10s", "--state_dir=none"}});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  std::shared_ptr<grpc::Channel> channel = (*daemon)->NewChannel();
  ExecutorCalls calls(channel);
  std::string outliving;
  ASSERT_NO_FATAL_FAILURE(StartRunningSleep(calls, &outliving));
  // Started only after SIGTERM would be too late: it must be running.
  std::string short_task;
  ASSERT_TRUE(calls
                  .Submit(CallOf("echo", {StringValue("finished in time")}),
                          &short_task)
                  .ok());
  std::string within_grace = SubmitSleep(calls, 1);
  ASSERT_FALSE(within_grace.empty());
  ASSERT_TRUE(calls.AwaitState(within_grace, v1::FUTURE_STATE_RUNNING).ok());

  AsyncResultCalls on_within(calls.stub(), within_grace, 3);
  AsyncResultCalls on_outliving(calls.stub(), outliving, 3);
  ASSERT_TRUE(calls
                  .AwaitStats([](const v1::GetStatsResponse& s) {
                    return s.waiting_calls() >= 6;
                  })
                  .ok());

  ASSERT_EQ(kill((*daemon)->pid(), SIGTERM), 0);
  AwaitNotServing(channel);
  std::string refused;
  grpc::Status submit =
      calls.Submit(CallOf("square", {NumberValue(2)}), &refused);
  EXPECT_EQ(submit.error_code(), grpc::StatusCode::UNAVAILABLE)
      << StatusText(submit);
  v1::FutureInfo done;
  grpc::Status get = calls.GetFuture(short_task, &done);
  EXPECT_TRUE(get.ok()) << StatusText(get);
  EXPECT_EQ(done.state(), v1::FUTURE_STATE_FINISHED);

  ASSERT_TRUE(on_within.WaitAll(absl::Seconds(60)));
  for (const AsyncResultCalls::Call& call : on_within.calls()) {
    EXPECT_TRUE(call.status.ok()) << StatusText(call.status);
    EXPECT_EQ(call.response.state(), v1::FUTURE_STATE_FINISHED);
    EXPECT_EQ(call.response.outcome().value().number_value(), 1)
        << call.response.ShortDebugString();
  }
  ASSERT_TRUE(on_outliving.WaitAll(absl::Seconds(60)));
  ExpectAllEndedIn(on_outliving, v1::FUTURE_STATE_CANCELLED,
                   "Result on the task that outlived the grace");
  ExpectExitedZero((*daemon)->Stop(SIGTERM, kStopTimeout));
}

TEST(ShutdownTest, SigintExitsZero) {
  absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon = DaemonProcess::Start(
      {.flags = {"--threads=1", "--shutdown_grace=1s", "--state_dir=none"}});
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  ExecutorCalls calls((*daemon)->NewChannel());
  std::string running;
  ASSERT_NO_FATAL_FAILURE(StartRunningSleep(calls, &running));

  ExpectExitedZero((*daemon)->Stop(SIGINT, kStopTimeout));
}

TEST(ShutdownTest, UnixSocketGetsTheModeAskedFor) {
  for (const auto& [flag, mode] :
       {std::pair{"--unix_socket_mode=0600", 0600},
        std::pair{"--unix_socket_mode=0666", 0666}}) {
    SCOPED_TRACE(flag);
    absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
        DaemonProcess::Start({.unix_socket = true, .flags = {flag}});
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    absl::string_view path = (*daemon)->address();
    ASSERT_TRUE(absl::ConsumePrefix(&path, "unix:")) << (*daemon)->address();
    struct stat st;
    ASSERT_EQ(stat(std::string(path).c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & 0777, static_cast<mode_t>(mode));
    ExpectExitedZero((*daemon)->Stop(SIGTERM, kStopTimeout));
  }
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
