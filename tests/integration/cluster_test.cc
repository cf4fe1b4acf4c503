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
using ::testing::HasSubstr;

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

// Node a, one thread busy with a gate task, has slow tasks queued behind
// it; idle node b claims some of them while a is alive. Each runs exactly
// once, some on b (each task notes its daemon's pid: its shell's parent),
// and a Wait on a that began before the claims sees every one end, as a
// reads them.
TEST_F(ClusterTest, LoadSpreadsToAnIdleNode) {
  ASSERT_NO_FATAL_FAILURE(StartNode("a", {"--threads=1"}));
  ASSERT_NO_FATAL_FAILURE(
      StartNode("b", {"--threads=2", "--cluster_claim_interval=50ms"}));
  const std::string gate = MustSubmit("a", Appending("gate $PPID", "sleep 1"));
  std::vector<std::string> ids = {gate};
  std::map<std::string, int> tags;  // tag -> how often it ran
  for (int i = 0; i < 8; ++i) {
    const std::string tag = absl::StrCat("t", i);
    ids.push_back(MustSubmit(
        "a",
        CallOf("exec", {ListValue({StringValue("/bin/sh"), StringValue("-c"),
                                   StringValue(absl::StrCat(
                                       "echo ", tag, " $PPID >> ", dir_,
                                       "/ran; sleep 0.2"))})})));
    tags[tag] = 0;
  }
  futured::v1::WaitRequest wait;
  for (const std::string& id : ids) wait.add_ids(id);
  wait.set_return_when(futured::v1::RETURN_WHEN_ALL_COMPLETED);
  wait.mutable_timeout()->set_seconds(60);
  futured::v1::WaitResponse waited;
  ASSERT_TRUE(calls("a").Wait(wait, &waited).ok());
  EXPECT_FALSE(waited.timed_out());
  EXPECT_EQ(waited.done_size(), 9);
  for (const std::string& id : ids) {
    FutureInfo info;
    ASSERT_TRUE(calls("a").GetFuture(id, &info).ok()) << id;
    EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_FINISHED) << id;
    EXPECT_FALSE(info.outcome().has_error()) << info.ShortDebugString();
  }
  const std::string a_pid = absl::StrCat(nodes_["a"].process->pid());
  const std::string b_pid = absl::StrCat(nodes_["b"].process->pid());
  std::ifstream in(dir_ + "/ran");
  std::string tag, pid;
  std::map<std::string, int> on;  // pid -> tasks run there
  while (in >> tag >> pid) {
    if (tag == "gate") continue;
    ++tags[tag];
    ++on[pid];
  }
  for (const auto& [t, count] : tags) EXPECT_EQ(count, 1) << t;
  EXPECT_GE(on[b_pid], 1) << "none ran on the idle node";
  EXPECT_EQ(on[a_pid] + on[b_pid], 8);
  std::printf("of 8 tasks queued on a, %d ran on a and %d on b\n", on[a_pid],
              on[b_pid]);
  // GetStats counts the claims: what b took, less what a took back.
  futured::v1::GetStatsResponse a_stats, b_stats;
  ASSERT_TRUE(calls("a").GetStats(&a_stats).ok());
  ASSERT_TRUE(calls("b").GetStats(&b_stats).ok());
  EXPECT_GE(b_stats.cluster().claims(), 1);
  EXPECT_EQ(
      b_stats.cluster().claimed_futures() - a_stats.cluster().claimed_futures(),
      on[b_pid]);
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

// A task running on a node killed -9 is run again on the survivor when its
// retry policy lists NodeLostError: its first attempt waits on a gate, the
// second (on b) passes at once.
TEST_F(ClusterTest, ALostRunningTaskIsRunAgainWhenItsPolicyRetriesNodeLost) {
  ASSERT_NO_FATAL_FAILURE(StartNode("a"));
  ASSERT_NO_FATAL_FAILURE(StartNode("b"));
  SubmitRequest call = CallOf(
      "exec",
      {ListValue({StringValue("/bin/sh"), StringValue("-c"),
                  StringValue(absl::StrCat(
                      "echo run >> ", dir_, "/ran; if [ ! -e ", dir_,
                      "/again ]; then touch ", dir_, "/again; while [ ! -e ",
                      dir_, "/gate ]; do sleep 0.02; done; fi; echo 7"))})});
  call.mutable_retry_policy()->set_max_attempts(2);
  call.mutable_retry_policy()->add_retry_on("NodeLostError");
  const std::string id = MustSubmit("a", call);
  ASSERT_TRUE(
      calls("a").AwaitState(id, futured::v1::FUTURE_STATE_RUNNING).ok());
  ASSERT_TRUE(
      PollUntil([&] { return std::filesystem::exists(dir_ + "/again"); },
                absl::Seconds(30)));
  ASSERT_NO_FATAL_FAILURE(KillNode("a"));
  // The first attempt's shell, if it outlived its daemon, ends now.
  std::ofstream(dir_ + "/gate") << "open";

  const FutureInfo info = AwaitDone("b", id);
  EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_FINISHED);
  EXPECT_FALSE(info.outcome().has_error()) << info.ShortDebugString();
  EXPECT_EQ(info.attempt(), 2);
  ASSERT_EQ(info.earlier_attempts_size(), 1);
  EXPECT_EQ(info.earlier_attempts(0).error().type(), "NodeLostError");
  EXPECT_EQ(RunCounts()["run"], 2);
}

}  // namespace
}  // namespace futured::testing
