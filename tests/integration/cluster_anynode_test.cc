// Any node answers any ID: real futured daemons on one real (throw-away)
// PostgreSQL database; a future submitted on one node is waited on,
// cancelled and released on the others.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/cluster_fixture.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/executor_calls.h"
#include "tests/integration/program_run.h"
#include "tests/poll_until.h"
#include "tests/support/postgres_server.h"

namespace futured::testing {
namespace {

using ::futured::v1::FutureInfo;
using ::futured::v1::SubmitRequest;

// Any node answers any ID: submit on one node, wait, cancel and release on
// the others.
class AnyNodeTest : public ClusterTest {
 protected:
  // A task that waits for file `name` in the test's directory, then
  // answers 5.
  SubmitRequest Gated(const std::string& name) {
    return CallOf(
        "exec",
        {ListValue({StringValue("/bin/sh"), StringValue("-c"),
                    StringValue(absl::StrCat("while [ ! -e ", dir_, "/", name,
                                             " ]; do sleep 0.02; done; "
                                             "echo 5"))})});
  }
  void Open(const std::string& name) {
    std::ofstream(absl::StrCat(dir_, "/", name)) << "go";
  }
  // Waits until `node` has `n` calls waiting on futures.
  void AwaitWaiters(const std::string& node, int n) {
    absl::StatusOr<futured::v1::GetStatsResponse> stats =
        calls(node).AwaitStats([n](const futured::v1::GetStatsResponse& s) {
          return s.waiting_calls() == n;
        });
    ASSERT_TRUE(stats.ok()) << stats.status();
  }
};

TEST_F(AnyNodeTest, ResultWaitAndAsCompletedOnOtherNodes) {
  ASSERT_NO_FATAL_FAILURE(StartNode("a"));
  ASSERT_NO_FATAL_FAILURE(StartNode("b"));
  ASSERT_NO_FATAL_FAILURE(StartNode("c"));
  const std::string squared =
      MustSubmit("a", CallOf("square", {NumberValue(7)}));
  const std::string gated = MustSubmit("a", Gated("go"));
  const std::string local = MustSubmit("c", CallOf("square", {NumberValue(3)}));

  futured::v1::ResultRequest result;
  result.set_id(squared);
  result.mutable_timeout()->set_seconds(30);
  FutureInfo info;
  ASSERT_TRUE(calls("b").Result(result, &info).ok());
  EXPECT_EQ(info.outcome().value().number_value(), 49);

  // Not done before the timeout: DEADLINE_EXCEEDED, as for a local future.
  result.set_id(gated);
  result.mutable_timeout()->set_seconds(0);
  result.mutable_timeout()->set_nanos(50'000'000);
  EXPECT_EQ(calls("b").Result(result, &info).error_code(),
            grpc::StatusCode::DEADLINE_EXCEEDED);

  futured::v1::WaitRequest wait;
  wait.add_ids(squared);
  wait.add_ids(gated);
  wait.add_ids(local);
  wait.set_return_when(futured::v1::RETURN_WHEN_FIRST_COMPLETED);
  futured::v1::WaitResponse waited;
  ASSERT_TRUE(calls("c").Wait(wait, &waited).ok());
  EXPECT_FALSE(waited.timed_out());
  EXPECT_THAT(waited.not_done(), ::testing::ElementsAre(gated));

  futured::v1::AsCompletedRequest as_completed;
  as_completed.add_ids(gated);
  as_completed.add_ids(squared);
  as_completed.mutable_timeout()->set_seconds(60);
  std::vector<FutureInfo> completed;
  std::thread streaming([&] {
    EXPECT_TRUE(calls("b").AsCompleted(as_completed, &completed).ok());
  });
  ASSERT_NO_FATAL_FAILURE(AwaitWaiters("b", 1));
  Open("go");
  streaming.join();
  ASSERT_EQ(completed.size(), 2u);
  EXPECT_EQ(completed[0].id(), squared);  // done before the call
  EXPECT_EQ(completed[1].id(), gated);
  EXPECT_EQ(completed[1]
                .outcome()
                .value()
                .struct_value()
                .fields()
                .at("stdout")
                .string_value(),
            "5\n");

  wait.set_return_when(futured::v1::RETURN_WHEN_ALL_COMPLETED);
  ASSERT_TRUE(calls("b").Wait(wait, &waited).ok());
  EXPECT_THAT(waited.done(), ::testing::ElementsAre(squared, gated, local));
  EXPECT_EQ(calls("b").Result(futured::v1::ResultRequest(), &info).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  result.set_id("no-such-future");
  EXPECT_EQ(calls("b").Result(result, &info).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// With the fallback poll at an hour, only the notification of the end can
// answer the waiting Result.
TEST_F(AnyNodeTest, AResultOnAnotherNodeIsWokenByTheEndsNotification) {
  ASSERT_NO_FATAL_FAILURE(StartNode("a", {"--cluster_poll=1h"}));
  ASSERT_NO_FATAL_FAILURE(StartNode("b", {"--cluster_poll=1h"}));
  const std::string id = MustSubmit("a", Gated("go"));
  ASSERT_TRUE(
      calls("a").AwaitState(id, futured::v1::FUTURE_STATE_RUNNING).ok());
  futured::v1::ResultRequest result;
  result.set_id(id);
  result.mutable_timeout()->set_seconds(120);
  FutureInfo info;
  grpc::Status status;
  std::thread waiting([&] { status = calls("b").Result(result, &info); });
  ASSERT_NO_FATAL_FAILURE(AwaitWaiters("b", 1));
  Open("go");
  waiting.join();
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_FINISHED);
  EXPECT_EQ(info.outcome()
                .value()
                .struct_value()
                .fields()
                .at("stdout")
                .string_value(),
            "5\n");
}

TEST_F(AnyNodeTest, CancelOnAnotherNodeReachesTheOwner) {
  ASSERT_NO_FATAL_FAILURE(StartNode("a", {"--threads=1"}));
  ASSERT_NO_FATAL_FAILURE(StartNode("b"));
  ASSERT_NO_FATAL_FAILURE(StartNode("c"));
  const std::string running =
      MustSubmit("a", CallOf("sleep", {NumberValue(3600)}));
  ASSERT_TRUE(
      calls("a").AwaitState(running, futured::v1::FUTURE_STATE_RUNNING).ok());
  const std::string pending =
      MustSubmit("a", CallOf("square", {NumberValue(2)}));

  futured::v1::CancelRequest only_pending;
  only_pending.set_id(running);
  only_pending.set_only_if_pending(true);
  futured::v1::CancelResponse cancelled;
  ASSERT_TRUE(calls("c").Cancel(only_pending, &cancelled).ok());
  EXPECT_EQ(cancelled.action(), futured::v1::CANCEL_ACTION_LEFT_RUNNING);
  EXPECT_FALSE(cancelled.cancelled());

  ASSERT_TRUE(calls("c").Cancel(pending, &cancelled).ok());
  EXPECT_EQ(cancelled.action(), futured::v1::CANCEL_ACTION_CANCELLED_PENDING);
  EXPECT_TRUE(cancelled.cancelled());
  EXPECT_EQ(cancelled.future().state(), futured::v1::FUTURE_STATE_CANCELLED);

  ASSERT_TRUE(calls("b").Cancel(running, &cancelled).ok());
  EXPECT_EQ(cancelled.action(), futured::v1::CANCEL_ACTION_STOP_REQUESTED);
  EXPECT_TRUE(cancelled.cancelled());
  FutureInfo info;
  ASSERT_TRUE(calls("a").GetFuture(running, &info).ok());
  EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_CANCELLED);
  ASSERT_TRUE(calls("a").GetFuture(pending, &info).ok());
  EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_CANCELLED);

  ASSERT_TRUE(calls("b").Cancel(running, &cancelled).ok());
  EXPECT_EQ(cancelled.action(), futured::v1::CANCEL_ACTION_ALREADY_DONE);
  EXPECT_EQ(calls("b").Cancel("no-such-future", &cancelled).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(AnyNodeTest, ReleaseOnAnotherNodeRemovesTheFutureOnItsOwner) {
  ASSERT_NO_FATAL_FAILURE(StartNode("a"));
  ASSERT_NO_FATAL_FAILURE(StartNode("b"));
  const std::string done = MustSubmit("a", CallOf("square", {NumberValue(4)}));
  AwaitDone("a", done);
  const std::string gated = MustSubmit("a", Gated("go"));
  const std::string local = MustSubmit("b", CallOf("square", {NumberValue(5)}));
  AwaitDone("b", local);
  futured::v1::ReleaseResponse released;
  EXPECT_EQ(calls("b").Release({done, gated}, &released).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(
      calls("b").Release({done, "no-such-future"}, &released).error_code(),
      grpc::StatusCode::NOT_FOUND);
  ASSERT_TRUE(calls("b").Release({done, local}, &released).ok());
  EXPECT_EQ(released.released(), 2);
  FutureInfo info;
  EXPECT_EQ(calls("a").GetFuture(done, &info).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(calls("b").GetFuture(done, &info).error_code(),
            grpc::StatusCode::NOT_FOUND);
  Open("go");
  AwaitDone("a", gated);
}

// Each future is its principal's on every node: another principal's is
// NOT_FOUND wherever it asks.
TEST_F(AnyNodeTest, AnotherPrincipalsFutureIsNotFoundOnEveryNode) {
  const std::string tokens = dir_ + "/tokens";
  std::ofstream(tokens) << "alice alice-secret-token-1234567890\n"
                        << "bob bob-secret-token-12345678901234\n";
  ASSERT_EQ(chmod(tokens.c_str(), 0600), 0);
  ASSERT_NO_FATAL_FAILURE(StartNode("a", {"--auth_tokens_file=" + tokens}));
  ASSERT_NO_FATAL_FAILURE(StartNode("b", {"--auth_tokens_file=" + tokens}));
  auto as = [](grpc::ClientContext& context, const std::string& who) {
    context.AddMetadata("authorization",
                        who == "alice"
                            ? "Bearer alice-secret-token-1234567890"
                            : "Bearer bob-secret-token-12345678901234");
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  };
  futured::v1::SubmitResponse submitted;
  {
    grpc::ClientContext context;
    as(context, "alice");
    ASSERT_TRUE(
        calls("a")
            .stub()
            .Submit(&context, CallOf("square", {NumberValue(9)}), &submitted)
            .ok());
  }
  const std::string id = submitted.id();
  futured::v1::ResultRequest result;
  result.set_id(id);
  result.mutable_timeout()->set_seconds(30);
  for (const std::string who : {"bob", "alice"}) {
    FutureInfo info;
    grpc::ClientContext context;
    as(context, who);
    const grpc::Status status =
        calls("b").stub().Result(&context, result, &info);
    if (who == "bob") {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
          << StatusText(status);
    } else {
      ASSERT_TRUE(status.ok()) << StatusText(status);
      EXPECT_EQ(info.outcome().value().number_value(), 81);
    }
  }
  {
    futured::v1::WaitRequest wait;
    wait.add_ids(id);
    futured::v1::WaitResponse waited;
    grpc::ClientContext context;
    as(context, "bob");
    EXPECT_EQ(calls("b").stub().Wait(&context, wait, &waited).error_code(),
              grpc::StatusCode::NOT_FOUND);
  }
  {
    futured::v1::CancelRequest cancel;
    cancel.set_id(id);
    futured::v1::CancelResponse cancelled;
    grpc::ClientContext context;
    as(context, "bob");
    EXPECT_EQ(
        calls("b").stub().Cancel(&context, cancel, &cancelled).error_code(),
        grpc::StatusCode::NOT_FOUND);
  }
  {
    futured::v1::ReleaseRequest release;
    release.add_ids(id);
    futured::v1::ReleaseResponse released;
    grpc::ClientContext context;
    as(context, "bob");
    EXPECT_EQ(
        calls("b").stub().Release(&context, release, &released).error_code(),
        grpc::StatusCode::NOT_FOUND);
  }
  // Still there for alice, on its own node.
  grpc::ClientContext context;
  as(context, "alice");
  futured::v1::GetFutureRequest get;
  get.set_id(id);
  FutureInfo info;
  EXPECT_TRUE(calls("a").stub().GetFuture(&context, get, &info).ok());
}

// A task running in a worker process of another node: the owner kills the
// worker, as for a local cancel, and the answer says how it ended.
TEST_F(AnyNodeTest, CancelOnAnotherNodeStopsAProcessPoolTask) {
  ASSERT_NO_FATAL_FAILURE(StartNode("a", {"--processes=1"}));
  ASSERT_NO_FATAL_FAILURE(StartNode("b"));
  SubmitRequest call = CallOf("sleep", {NumberValue(3600)});
  call.set_pool("process");
  const std::string id = MustSubmit("a", call);
  absl::StatusOr<FutureInfo> running =
      calls("a").AwaitState(id, futured::v1::FUTURE_STATE_RUNNING);
  ASSERT_TRUE(running.ok()) << running.status();
  EXPECT_NE(running->worker_pid(), 0);
  futured::v1::CancelResponse cancelled;
  ASSERT_TRUE(calls("b").Cancel(id, &cancelled).ok());
  EXPECT_EQ(cancelled.action(), futured::v1::CANCEL_ACTION_STOP_REQUESTED);
  const FutureInfo info = AwaitDone("b", id);
  EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_CANCELLED);
  EXPECT_EQ(info.worker_pid(), running->worker_pid());
}

// Watch and FollowProgress on a node that does not hold the future follow
// it there: its state when asked, then its end.
TEST_F(AnyNodeTest, WatchAndFollowProgressOnAnotherNode) {
  ASSERT_NO_FATAL_FAILURE(StartNode("a"));
  ASSERT_NO_FATAL_FAILURE(StartNode("b"));
  const std::string squared =
      MustSubmit("a", CallOf("square", {NumberValue(6)}));
  const std::string gated = MustSubmit("a", Gated("go"));
  ASSERT_TRUE(
      calls("a").AwaitState(gated, futured::v1::FUTURE_STATE_RUNNING).ok());
  ASSERT_TRUE(
      calls("a").AwaitState(squared, futured::v1::FUTURE_STATE_FINISHED).ok());

  grpc::ClientContext watch_context;
  auto watch = calls("b").stub().Watch(&watch_context);
  futured::v1::WatchRequest named;
  named.add_ids(squared);
  named.add_ids(gated);
  named.add_ids("no-such-future");
  ASSERT_TRUE(watch->Write(named));
  // The done future and the unknown ID's error come first, in any grouping
  // (two entries; the running future's would be a third).
  std::map<std::string, FutureInfo> sent;
  std::map<std::string, int> errors;
  futured::v1::WatchResponse response;
  for (int i = 0;
       i < 2 && sent.size() + errors.size() < 2 && watch->Read(&response);
       ++i) {
    for (const FutureInfo& info : response.futures()) sent[info.id()] = info;
    for (const auto& error : response.errors()) {
      errors[error.id()] = error.code();
    }
  }
  ASSERT_EQ(sent.count(squared), 1u);
  EXPECT_EQ(sent[squared].outcome().value().number_value(), 36);
  EXPECT_EQ(errors["no-such-future"], grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(sent.count(gated), 0u);

  grpc::ClientContext progress_context;
  futured::v1::FollowProgressRequest follow;
  follow.set_id(gated);
  auto progress = calls("b").stub().FollowProgress(&progress_context, follow);
  FutureInfo first;
  ASSERT_TRUE(progress->Read(&first));
  EXPECT_EQ(first.state(), futured::v1::FUTURE_STATE_RUNNING);
  ASSERT_NO_FATAL_FAILURE(AwaitWaiters("b", 2));

  Open("go");
  ASSERT_TRUE(watch->Read(&response));
  ASSERT_EQ(response.futures_size(), 1);
  EXPECT_EQ(response.futures(0).id(), gated);
  EXPECT_EQ(response.futures(0).state(), futured::v1::FUTURE_STATE_FINISHED);
  watch->WritesDone();
  EXPECT_FALSE(watch->Read(&response));
  EXPECT_TRUE(watch->Finish().ok());

  FutureInfo last;
  for (int i = 0; i < 3 && progress->Read(&last); ++i) {
  }
  EXPECT_EQ(last.state(), futured::v1::FUTURE_STATE_FINISHED);
  EXPECT_EQ(last.outcome()
                .value()
                .struct_value()
                .fields()
                .at("stdout")
                .string_value(),
            "5\n");
  EXPECT_TRUE(progress->Finish().ok());
}

}  // namespace
}  // namespace futured::testing
