// Cluster mode: real futured daemons sharing one real (throw-away)
// PostgreSQL database; a node killed with kill -9 has its work adopted.
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
#include "tests/integration/daemon_process.h"
#include "tests/integration/executor_calls.h"
#include "tests/integration/program_run.h"
#include "tests/poll_until.h"
#include "tests/support/postgres_server.h"

namespace futured::testing {
namespace {

using ::futured::v1::FutureInfo;
using ::futured::v1::SubmitRequest;
using ::testing::HasSubstr;

constexpr char kLease[] = "--cluster_lease=1s";

// One node: its process and a client of it.
struct Node {
  std::unique_ptr<DaemonProcess> process;
  std::unique_ptr<ExecutorCalls> calls;
};

// A PostgreSQL server and database per test, and a directory for the
// tasks' side effects.
class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<PostgresServer>> server =
        PostgresServer::Start();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    absl::StatusOr<std::string> db = server_->CreateDatabase();
    ASSERT_TRUE(db.ok()) << db.status();
    conninfo_ = *db;
    char dir[] = "/tmp/futured_cluster_it.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }

  void TearDown() override {
    for (auto& [name, node] : nodes_) {
      node.calls.reset();
      if (node.process == nullptr) continue;
      absl::StatusOr<int> status = node.process->Stop(SIGTERM);
      ASSERT_TRUE(status.ok()) << status.status();
      EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
          << name << ": wait status " << *status;
    }
    std::filesystem::remove_all(dir_);
  }

  // Starts node `name` on the test's database.
  void StartNode(const std::string& name, std::vector<std::string> flags = {}) {
    flags.push_back("--cluster=" + conninfo_);
    flags.push_back("--node_name=" + name);
    flags.push_back(kLease);
    flags.push_back("--exec_allow=/bin/sh");
    absl::StatusOr<std::unique_ptr<DaemonProcess>> process =
        DaemonProcess::Start({.unix_socket = true, .flags = std::move(flags)});
    ASSERT_TRUE(process.ok()) << process.status();
    Node& node = nodes_[name];
    node.process = *std::move(process);
    node.calls = std::make_unique<ExecutorCalls>(node.process->NewChannel());
  }

  // Ends node `name` with `signal` (SIGKILL: as a crash or the OOM killer
  // would; SIGTERM: a clean stop, which must exit 0).
  void KillNode(const std::string& name, int signal = SIGKILL) {
    Node& node = nodes_[name];
    node.calls.reset();
    absl::StatusOr<int> status = node.process->Stop(signal);
    ASSERT_TRUE(status.ok()) << status.status();
    if (signal == SIGTERM) {
      EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
    }
    node.process.reset();
  }

  ExecutorCalls& calls(const std::string& name) { return *nodes_[name].calls; }

  std::string MustSubmit(const std::string& node, const SubmitRequest& call) {
    std::string id;
    const grpc::Status status = calls(node).Submit(call, &id);
    EXPECT_TRUE(status.ok()) << StatusText(status);
    return id;
  }

  // Waits until `node` knows future `id` and it is done.
  FutureInfo AwaitDone(const std::string& node, const std::string& id) {
    FutureInfo info;
    const bool done = PollUntil(
        [&] { return calls(node).GetFuture(id, &info).ok() && info.done(); },
        absl::Seconds(60));
    EXPECT_TRUE(done) << id << " on " << node << ": "
                      << info.ShortDebugString();
    return info;
  }

  // A task that appends `tag` to a file (the file tells how often it ran),
  // then runs `then`.
  SubmitRequest Appending(const std::string& tag,
                          const std::string& then = "true") {
    return CallOf(
        "exec", {ListValue({StringValue("/bin/sh"), StringValue("-c"),
                            StringValue(absl::StrCat("echo ", tag, " >> ", dir_,
                                                     "/ran; ", then))})});
  }

  std::map<std::string, int> RunCounts() {
    std::map<std::string, int> counts;
    std::ifstream in(dir_ + "/ran");
    std::string line;
    while (std::getline(in, line)) ++counts[line];
    return counts;
  }

  std::unique_ptr<PostgresServer> server_;
  std::string conninfo_;
  std::string dir_;
  std::map<std::string, Node> nodes_;
};

TEST_F(ClusterTest, ANodeKeepsItsFuturesInPostgresAcrossKill9) {
  ASSERT_NO_FATAL_FAILURE(StartNode("a"));
  const std::string id = MustSubmit("a", CallOf("square", {NumberValue(7)}));
  EXPECT_EQ(AwaitDone("a", id).outcome().value().number_value(), 49);
  ASSERT_NO_FATAL_FAILURE(KillNode("a"));

  // Its lease still held by the killed process: the restart waits it out.
  ASSERT_NO_FATAL_FAILURE(StartNode("a"));
  const FutureInfo info = AwaitDone("a", id);
  EXPECT_EQ(info.outcome().value().number_value(), 49);
}

TEST_F(ClusterTest, GetFutureOnAnyNodeAnswersForAnotherNodesFuture) {
  ASSERT_NO_FATAL_FAILURE(StartNode("a", {"--threads=1"}));
  ASSERT_NO_FATAL_FAILURE(StartNode("b"));
  const std::string squared =
      MustSubmit("a", CallOf("square", {NumberValue(6)}));
  AwaitDone("a", squared);
  FutureInfo info;
  ASSERT_TRUE(calls("b").GetFuture(squared, &info).ok());
  EXPECT_EQ(info.id(), squared);
  EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_FINISHED);
  EXPECT_EQ(info.outcome().value().number_value(), 36);
  const std::string sleeping =
      MustSubmit("a", CallOf("sleep", {NumberValue(3600)}));
  ASSERT_TRUE(
      calls("a").AwaitState(sleeping, futured::v1::FUTURE_STATE_RUNNING).ok());
  const std::string queued =
      MustSubmit("a", CallOf("square", {NumberValue(2)}));
  ASSERT_TRUE(calls("b").GetFuture(sleeping, &info).ok());
  EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_RUNNING);
  ASSERT_TRUE(calls("b").GetFuture(queued, &info).ok());
  EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_PENDING);
  EXPECT_EQ(info.function(), "square");
  EXPECT_EQ(calls("b").GetFuture("no-such-future", &info).error_code(),
            grpc::StatusCode::NOT_FOUND);
  futured::v1::CancelResponse cancelled;
  ASSERT_TRUE(calls("a").Cancel(sleeping, &cancelled).ok());
}

TEST_F(ClusterTest, AConnectionStringWithAPasswordIsRefused) {
  absl::StatusOr<ProgramResult> run =
      RunProgram({FUTURED_BINARY, "--listen=127.0.0.1:0",
                  "--cluster=postgresql://futured:hunter2@127.0.0.1/futured"});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_NE(run->exit_code, 0);
  EXPECT_THAT(run->err, HasSubstr("--cluster_password_file"));
  EXPECT_THAT(run->err, ::testing::Not(HasSubstr("hunter2")));
}

TEST_F(ClusterTest, ADatabaseWithANewerSchemaStopsTheStart) {
  ASSERT_NO_FATAL_FAILURE(StartNode("a"));
  ASSERT_TRUE(PostgresServer::Execute(conninfo_,
                                      "UPDATE futured_schema SET version = 7")
                  .ok());
  absl::StatusOr<ProgramResult> run =
      RunProgram({FUTURED_BINARY, "--listen=127.0.0.1:0",
                  "--cluster=" + conninfo_, "--node_name=b"});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 65);
  EXPECT_THAT(run->err, HasSubstr("has futured schema version 7, newer than "
                                  "this futured's 3"));
}

TEST_F(ClusterTest, ANodeWhoseWorkWasTakenOverExits) {
  ASSERT_NO_FATAL_FAILURE(StartNode("a"));
  AwaitDone("a", MustSubmit("a", CallOf("square", {NumberValue(3)})));
  // What a node that adopts a's work does first.
  ASSERT_TRUE(PostgresServer::Execute(
                  conninfo_,
                  "UPDATE futured_nodes SET epoch = epoch + 1 WHERE name = 'a'")
                  .ok());
  Node& a = nodes_["a"];
  a.calls.reset();
  // Its next heartbeat (every lease/3) finds the lease lost.
  absl::StatusOr<int> status = a.process->Stop(/*signal=*/0);
  a.process.reset();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 75) << *status;
}

TEST_F(ClusterTest, WhileTheDatabaseIsGoneSubmitIsUnavailable) {
  ASSERT_NO_FATAL_FAILURE(StartNode("a"));
  const std::string before =
      MustSubmit("a", CallOf("square", {NumberValue(2)}));
  AwaitDone("a", before);
  ASSERT_TRUE(server_->Stop(/*immediate=*/true).ok());
  std::string id;
  const grpc::Status gone =
      calls("a").Submit(CallOf("square", {NumberValue(3)}), &id);
  EXPECT_EQ(gone.error_code(), grpc::StatusCode::UNAVAILABLE)
      << StatusText(gone);
  EXPECT_THAT(gone.error_message(), HasSubstr("PostgreSQL"));
  ASSERT_TRUE(server_->Resume().ok());
  const std::string after = MustSubmit("a", CallOf("square", {NumberValue(4)}));
  EXPECT_EQ(AwaitDone("a", after).outcome().value().number_value(), 16);
  EXPECT_EQ(AwaitDone("a", before).outcome().value().number_value(), 4);
}

// Node a, one thread busy with a long sleep, has appending tasks queued
// behind it when it is killed (or stopped: it gives its lease up): b adopts
// them and runs each exactly once, in the order a accepted them; the sleep,
// running on a, ends NodeLostError.
class LostNodeTest : public ClusterTest,
                     public ::testing::WithParamInterface<int> {};

TEST_P(LostNodeTest, ItsPendingWorkRunsOnASurvivorExactlyOnce) {
  ASSERT_NO_FATAL_FAILURE(
      StartNode("a", {"--threads=1", "--shutdown_grace=0s"}));
  ASSERT_NO_FATAL_FAILURE(StartNode("b", {"--threads=1"}));
  const std::string sleeping =
      MustSubmit("a", CallOf("sleep", {NumberValue(3600)}));
  ASSERT_TRUE(
      calls("a").AwaitState(sleeping, futured::v1::FUTURE_STATE_RUNNING).ok());
  std::vector<std::string> ids;
  std::map<std::string, std::string> tags;  // future ID -> tag
  for (int i = 0; i < 20; ++i) {
    const std::string tag = absl::StrCat("t", i);
    const std::string id = MustSubmit("a", Appending(tag));
    ids.push_back(id);
    tags[id] = tag;
  }
  const absl::Time killed = absl::Now();
  ASSERT_NO_FATAL_FAILURE(KillNode("a", GetParam()));

  const FutureInfo lost = AwaitDone("b", sleeping);
  EXPECT_EQ(lost.outcome().error().type(), "NodeLostError");
  EXPECT_EQ(lost.outcome().error().message(),
            "node a stopped while this task was running or about to start; "
            "it was not run again (at most once)");
  absl::Time previous_start = absl::InfinitePast();
  for (const std::string& id : ids) {
    const FutureInfo info = AwaitDone("b", id);
    if (HasFailure()) break;  // not adopted: waiting for the rest is no use
    EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_FINISHED) << id;
    EXPECT_FALSE(info.outcome().has_error()) << info.ShortDebugString();
    const absl::Time start = TimeFromProto(info.start_time());
    EXPECT_GE(start, previous_start) << "run in the order a accepted them";
    previous_start = start;
  }
  std::printf("a's 20 pending futures all done on b %s after %s (lease 1s)\n",
              absl::FormatDuration(absl::Now() - killed).c_str(),
              GetParam() == SIGKILL ? "kill -9" : "SIGTERM");
  const std::map<std::string, int> ran = RunCounts();
  for (const auto& [id, tag] : tags) {
    EXPECT_EQ(ran.contains(tag) ? ran.at(tag) : 0, 1) << tag;
  }
  EXPECT_EQ(ran.size(), tags.size());
}

INSTANTIATE_TEST_SUITE_P(KillAndTerm, LostNodeTest,
                         ::testing::Values(SIGKILL, SIGTERM),
                         [](const auto& info) {
                           return info.param == SIGKILL ? "Kill9" : "Sigterm";
                         });

// Submits on a at random moments while a runs them, kills a, and checks on
// b that every ID whose Submit returned ends exactly once: finished and run
// once, or NodeLostError (running when a died) and run at most once.
TEST_F(ClusterTest, UnderLoadEveryAcceptedFutureEndsOnceAndNothingRunsTwice) {
  ASSERT_NO_FATAL_FAILURE(StartNode("a", {"--threads=2"}));
  ASSERT_NO_FATAL_FAILURE(StartNode("b", {"--threads=2"}));
  std::mt19937 random(std::random_device{}());
  const unsigned seed = random();
  std::printf("seed %u\n", seed);
  random.seed(seed);
  std::map<std::string, std::string> tags;
  const int submits = 40 + static_cast<int>(random() % 40);
  for (int i = 0; i < submits; ++i) {
    const std::string tag = absl::StrCat("t", i);
    std::string id;
    if (calls("a").Submit(Appending(tag, "sleep 0.02"), &id).ok()) {
      tags[id] = tag;
    }
  }
  absl::SleepFor(absl::Milliseconds(random() % 300));
  ASSERT_NO_FATAL_FAILURE(KillNode("a"));

  int finished = 0, lost = 0;
  std::map<std::string, FutureInfo> ended;
  for (const auto& [id, tag] : tags) {
    ended[id] = AwaitDone("b", id);
    ASSERT_FALSE(HasFailure()) << "not adopted: waiting for the rest is no use";
  }
  const std::map<std::string, int> ran = RunCounts();
  for (const auto& [id, tag] : tags) {
    const FutureInfo& info = ended[id];
    const int runs = ran.contains(tag) ? ran.at(tag) : 0;
    if (info.state() == futured::v1::FUTURE_STATE_FINISHED &&
        !info.outcome().has_error()) {
      ++finished;
      EXPECT_EQ(runs, 1) << tag << " finished";
    } else {
      ++lost;
      EXPECT_EQ(info.outcome().error().type(), "NodeLostError")
          << tag << ": " << info.ShortDebugString();
      EXPECT_LE(runs, 1) << tag << " was running on a when it died";
    }
  }
  for (const auto& [tag, runs] : ran) {
    EXPECT_LE(runs, 1) << tag << " ran more than once";
  }
  std::printf("%zu futures accepted by a: %d finished, %d NodeLostError\n",
              tags.size(), finished, lost);
  EXPECT_EQ(finished + lost, static_cast<int>(tags.size()));
}

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

}  // namespace
}  // namespace futured::testing
