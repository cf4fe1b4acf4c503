// The client library over several daemons: a target list spreads calls over
// them (gRPC's round_robin), and a daemon killed under load costs the calls
// that are safe to repeat a retry on the other, not an error.
#include <sys/wait.h>

#include <atomic>
#include <csignal>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "futured/channel.h"
#include "futured/futured.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/program_run.h"
#include "tests/poll_until.h"

namespace futured::testing {
namespace {

// Two independent daemons on 127.0.0.1 (no cluster: each keeps its own
// futures, so each one's GetStats tells which calls reached it).
class ClientSpreadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 2; ++i) {
      absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
          DaemonProcess::Start({.flags = {"--threads=2", "--processes=1"}});
      ASSERT_TRUE(daemon.ok()) << daemon.status();
      daemons_.push_back(*std::move(daemon));
    }
    target_ = absl::StrCat(daemons_[0]->address(), ",", daemons_[1]->address());
  }

  void TearDown() override {
    for (std::unique_ptr<DaemonProcess>& daemon : daemons_) {
      if (daemon == nullptr) continue;
      absl::StatusOr<int> status = daemon->Stop(SIGTERM);
      ASSERT_TRUE(status.ok()) << status.status();
      EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
    }
  }

  // The futures daemon `i` holds, asked of it alone.
  int64_t FuturesOn(int i) {
    return Client(daemons_[i]->address()).stats().futures;
  }

  std::vector<std::unique_ptr<DaemonProcess>> daemons_;
  std::string target_;  // "127.0.0.1:a,127.0.0.1:b"
};

TEST(ChannelTargetTest, ListsOfNumericAddressesBecomeGrpcsForm) {
  EXPECT_EQ(ChannelTarget("127.0.0.1:1,127.0.0.1:2"),
            "ipv4:127.0.0.1:1,127.0.0.1:2");
  EXPECT_EQ(ChannelTarget("10.0.0.1:1, 10.0.0.2:2"),
            "ipv4:10.0.0.1:1,10.0.0.2:2");
  EXPECT_EQ(ChannelTarget("[::1]:1,[::1]:2"), "ipv6:[::1]:1,[::1]:2");
  EXPECT_EQ(ChannelTarget("10.0.0.1:1,10.0.0.2:2,10.0.0.3:3", 4),
            "ipv4:10.0.0.2:2,10.0.0.3:3,10.0.0.1:1");
  // Left to gRPC: one address, a scheme, names, a mix.
  EXPECT_EQ(ChannelTarget("127.0.0.1:1"), "127.0.0.1:1");
  EXPECT_EQ(ChannelTarget("dns:///futured:50051"), "dns:///futured:50051");
  EXPECT_EQ(ChannelTarget("unix:/run/futured.sock"), "unix:/run/futured.sock");
  EXPECT_EQ(ChannelTarget("a:1,b:2"), "a:1,b:2");
  EXPECT_EQ(ChannelTarget("127.0.0.1:1,[::1]:2"), "127.0.0.1:1,[::1]:2");
}

TEST_F(ClientSpreadTest, SubmitsSpreadOverEveryDaemonOfTheTarget) {
  Client client(target_);
  ASSERT_TRUE(client.wait_for_connected(absl::Seconds(30)));
  constexpr int kSubmits = 200;
  for (int i = 0; i < kSubmits; ++i) {
    client.submit(Call("square").arg(i));  // its result is on one of them
  }
  const int64_t first = FuturesOn(0);
  const int64_t second = FuturesOn(1);
  EXPECT_EQ(first + second, kSubmits);
  // round_robin alternates once both are connected; one of them may take
  // the first few calls alone.
  EXPECT_GE(first, kSubmits / 4) << second;
  EXPECT_GE(second, kSubmits / 4) << first;
}

// Four threads call GetStats (retried on UNAVAILABLE) and Submit with a
// request_id (retried by the library) through both daemons while one is
// killed with SIGKILL: no call fails.
TEST_F(ClientSpreadTest, AKilledDaemonCostsARetryNotAnError) {
  Client client(target_);
  ASSERT_TRUE(client.wait_for_connected(absl::Seconds(30)));
  constexpr int kThreads = 4;
  constexpr int kCallsAfterKill = 200;  // per thread
  std::atomic<int> calls = 0;
  std::atomic<bool> killed = false;
  std::atomic<int> errors = 0;
  std::vector<std::string> messages(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      int after_kill = 0;
      for (int i = 0; after_kill < kCallsAfterKill && i < 100000; ++i) {
        if (killed) ++after_kill;
        try {
          if (i % 2 == 0) {
            client.stats();
          } else {
            client.submit(
                Call("square").arg(i).request_id(absl::StrCat(t, "-", i)));
          }
        } catch (const RpcError& e) {
          ++errors;
          messages[t] = e.status().ToString();
        }
        ++calls;
      }
    });
  }
  ASSERT_TRUE(PollUntil([&] { return calls >= 200; }, absl::Seconds(60)));
  absl::StatusOr<int> status = daemons_[0]->Stop(SIGKILL);
  ASSERT_TRUE(status.ok()) << status.status();
  daemons_[0].reset();
  killed = true;
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(errors, 0) << messages[0] << messages[1] << messages[2]
                       << messages[3];
}

// futurectl takes the same target list: its calls land on both daemons,
// and with one of them killed, a call that is safe to repeat still works.
TEST_F(ClientSpreadTest, FuturectlTakesSeveralNodes) {
  constexpr int kSubmits = 20;
  for (int i = 0; i < kSubmits; ++i) {
    absl::StatusOr<ProgramResult> run = RunProgram(
        {FUTURECTL_BINARY, "--target=" + target_, "submit", "square", "[3]"});
    ASSERT_TRUE(run.ok()) << run.status();
    ASSERT_EQ(run->exit_code, 0) << run->err;
  }
  EXPECT_EQ(FuturesOn(0) + FuturesOn(1), kSubmits);
  absl::StatusOr<int> killed = daemons_[0]->Stop(SIGKILL);
  ASSERT_TRUE(killed.ok()) << killed.status();
  daemons_[0].reset();
  for (int i = 0; i < 10; ++i) {
    absl::StatusOr<ProgramResult> run =
        RunProgram({FUTURECTL_BINARY, "--target=" + target_, "stats"});
    ASSERT_TRUE(run.ok()) << run.status();
    EXPECT_EQ(run->exit_code, 0) << run->err;
  }
}

}  // namespace
}  // namespace futured::testing
