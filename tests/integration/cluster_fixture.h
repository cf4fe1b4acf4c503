// The fixture of the cluster tests: real futured daemons (nodes) on one
// real, throw-away PostgreSQL database.
#ifndef FUTURED_TESTS_INTEGRATION_CLUSTER_FIXTURE_H_
#define FUTURED_TESTS_INTEGRATION_CLUSTER_FIXTURE_H_

#include <stdlib.h>
#include <sys/wait.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/executor_calls.h"
#include "tests/poll_until.h"
#include "tests/support/postgres_test.h"

namespace futured::testing {

inline constexpr char kLease[] = "--cluster_lease=1s";

// One node: its process and a client of it.
struct Node {
  std::unique_ptr<DaemonProcess> process;
  std::unique_ptr<ExecutorCalls> calls;
};

// A PostgreSQL server and database per test, and a directory for the
// tasks' side effects.
class ClusterTest : public PostgresTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(PostgresTest::SetUp());
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

  // Starts node `name` on the test's database. It claims no other node's
  // pending work unless `flags` say --cluster_claim_interval (the last
  // occurrence of a flag counts): most tests want each future to stay where
  // it was submitted until its node is lost.
  void StartNode(const std::string& name, std::vector<std::string> flags = {}) {
    flags.insert(flags.begin(), "--cluster_claim_interval=0");
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

  std::string MustSubmit(const std::string& node,
                         const v1::SubmitRequest& call) {
    std::string id;
    const grpc::Status status = calls(node).Submit(call, &id);
    EXPECT_TRUE(status.ok()) << StatusText(status);
    return id;
  }

  // Waits until `node` knows future `id` and it is done.
  v1::FutureInfo AwaitDone(const std::string& node, const std::string& id) {
    v1::FutureInfo info;
    const bool done = PollUntil(
        [&] { return calls(node).GetFuture(id, &info).ok() && info.done(); },
        absl::Seconds(60));
    EXPECT_TRUE(done) << id << " on " << node << ": "
                      << info.ShortDebugString();
    return info;
  }

  // A task that appends `tag` to a file (the file tells how often it ran),
  // then runs `then`.
  v1::SubmitRequest Appending(const std::string& tag,
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

  std::string dir_;
  std::map<std::string, Node> nodes_;
};

}  // namespace futured::testing

#endif  // FUTURED_TESTS_INTEGRATION_CLUSTER_FIXTURE_H_
