// The process pool against the real daemon: parallelism in separate
// processes, crash isolation, killing cancelled and overdue tasks, limits,
// and no worker, zombie or descriptor left behind.
#include <dirent.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_process.h"
#include "tests/integration/executor_calls.h"
#include "tests/poll_until.h"
#include "tests/sanitizer_build.h"

namespace futured::testing {
namespace {

using ::futured::v1::CancelResponse;
using ::futured::v1::FutureInfo;
using ::futured::v1::GetStatsResponse;
using ::futured::v1::MapItem;
using ::futured::v1::MapRequest;
using ::futured::v1::ResultRequest;
using ::futured::v1::SubmitRequest;

// The state letter and parent of a process from /proc/PID/stat; nullopt if
// there is no such process.
struct ProcStat {
  char state = '?';
  pid_t parent = 0;
};
std::optional<ProcStat> ReadStat(pid_t pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(file, line)) return std::nullopt;
  // "pid (comm) S ppid ...": comm may hold spaces and parentheses.
  const size_t close = line.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close + 1));
  ProcStat stat;
  rest >> stat.state >> stat.parent;
  return stat;
}

// Gone, or a zombie that is no longer ours to reap (after the daemon died,
// its orphans belong to init).
bool ProcessGone(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH) return true;
  std::optional<ProcStat> stat = ReadStat(pid);
  return !stat.has_value() || stat->state == 'Z';
}

// Every process whose parent is `parent`, zombies included.
std::vector<std::pair<pid_t, char>> ChildrenOf(pid_t parent) {
  std::vector<std::pair<pid_t, char>> children;
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return children;
  while (dirent* entry = readdir(proc)) {
    pid_t pid = 0;
    if (!absl::SimpleAtoi(entry->d_name, &pid)) continue;
    std::optional<ProcStat> stat = ReadStat(pid);
    if (stat && stat->parent == parent) {
      children.emplace_back(pid, stat->state);
    }
  }
  closedir(proc);
  return children;
}

int CountFds(pid_t pid) {
  DIR* dir = opendir(absl::StrCat("/proc/", pid, "/fd").c_str());
  if (dir == nullptr) return -1;
  int count = 0;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count;
}

SubmitRequest InProcessPool(SubmitRequest request) {
  request.set_pool("process");
  return request;
}

const futured::v1::PoolStats* FindPool(const GetStatsResponse& stats,
                                       absl::string_view name) {
  for (const futured::v1::PoolStats& pool : stats.pools()) {
    if (pool.name() == name) return &pool;
  }
  return nullptr;
}

class ProcessPoolTest : public ::testing::Test {
 protected:
  void StartDaemon(std::vector<std::string> flags) {
    absl::StatusOr<std::unique_ptr<DaemonProcess>> daemon =
        DaemonProcess::Start({.flags = std::move(flags)});
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    daemon_ = *std::move(daemon);
    calls_ = std::make_unique<ExecutorCalls>(daemon_->NewChannel());
  }

  std::string MustSubmit(const SubmitRequest& request) {
    std::string id;
    grpc::Status status = calls_->Submit(request, &id);
    EXPECT_TRUE(status.ok()) << StatusText(status);
    return id;
  }

  FutureInfo MustResult(const std::string& id) {
    ResultRequest request;
    request.set_id(id);
    FutureInfo info;
    grpc::Status status = calls_->Result(request, &info);
    EXPECT_TRUE(status.ok()) << StatusText(status);
    return info;
  }

  // The daemon's live (non-zombie) children, once there are `n` of them.
  std::vector<pid_t> AwaitWorkers(size_t n) {
    std::vector<pid_t> workers;
    EXPECT_TRUE(PollUntil([&] {
      workers.clear();
      for (auto [pid, state] : ChildrenOf(daemon_->pid())) {
        if (state != 'Z') workers.push_back(pid);
      }
      return workers.size() == n;
    })) << "workers: "
        << workers.size();
    return workers;
  }

  std::unique_ptr<DaemonProcess> daemon_;
  std::unique_ptr<ExecutorCalls> calls_;
};

TEST_F(ProcessPoolTest, FourFactorialsOnTwoWorkersRunInParallelProcesses) {
  StartDaemon({"--processes=2"});
  // Both workers up and idle first: two sleeps seen running at once (a
  // worker still starting has a few seconds to join in), then done.
  std::vector<std::string> sleeps;
  for (int i = 0; i < 2; ++i) {
    sleeps.push_back(
        MustSubmit(InProcessPool(CallOf("sleep", {NumberValue(3)}))));
  }
  absl::StatusOr<GetStatsResponse> both_running =
      calls_->AwaitStats([](const GetStatsResponse& s) {
        const futured::v1::PoolStats* pool = FindPool(s, "process");
        return pool != nullptr && pool->running() == 2;
      });
  ASSERT_TRUE(both_running.ok()) << both_running.status();
  for (const std::string& id : sleeps) MustResult(id);

  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(MustSubmit(
        InProcessPool(CallOf("factorial", {NumberValue(200000 - i)}))));
  }
  std::vector<FutureInfo> infos;
  std::set<int> pids;
  for (const std::string& id : ids) {
    infos.push_back(MustResult(id));
    const FutureInfo& info = infos.back();
    EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_FINISHED);
    EXPECT_EQ(info.pool(), "process");
    EXPECT_TRUE(info.outcome().has_value());
    EXPECT_GT(info.worker_pid(), 0);
    EXPECT_NE(info.worker_pid(), daemon_->pid());
    pids.insert(info.worker_pid());
  }
  EXPECT_EQ(pids.size(), 2u);
  // Some two tasks in different processes overlapped, by the server's clock.
  bool overlapped = false;
  for (const FutureInfo& a : infos) {
    for (const FutureInfo& b : infos) {
      if (a.worker_pid() == b.worker_pid()) continue;
      overlapped |=
          TimeFromProto(a.start_time()) < TimeFromProto(b.end_time()) &&
          TimeFromProto(b.start_time()) < TimeFromProto(a.end_time());
    }
  }
  EXPECT_TRUE(overlapped);
}

TEST_F(ProcessPoolTest,
       TwoHundredCrashesFailOnlyTheirOwnFuturesAndLeakNothing) {
  StartDaemon({"--processes=2"});
  // Settle: both workers up, one call of each kind made, then count.
  AwaitWorkers(2);
  MustResult(MustSubmit(InProcessPool(CallOf("pid"))));
  GetStatsResponse stats;
  ASSERT_TRUE(calls_->GetStats(&stats).ok());
  const int fds_before = CountFds(daemon_->pid());
  ASSERT_GT(fds_before, 0);

  const char* kinds[] = {"segv", "abort", "exit"};
  std::vector<std::pair<std::string, int>> submitted;  // id, -1 for a crash
  for (int i = 0; i < 400; ++i) {
    if (i % 2 == 0) {
      submitted.emplace_back(
          MustSubmit(InProcessPool(CallOf(
              "crash", {StringValue(kinds[(i / 2) % 3]), NumberValue(7)}))),
          -1);
    } else {
      submitted.emplace_back(
          MustSubmit(InProcessPool(CallOf("square", {NumberValue(i)}))), i);
    }
  }
  int crashes = 0;
  for (const auto& [id, input] : submitted) {
    const FutureInfo info = MustResult(id);
    ASSERT_EQ(info.state(), futured::v1::FUTURE_STATE_FINISHED)
        << info.ShortDebugString();
    if (input < 0) {
      ++crashes;
      EXPECT_EQ(info.outcome().error().type(), "WorkerDiedError")
          << info.ShortDebugString();
      EXPECT_TRUE(absl::StrContains(info.outcome().error().message(), "SIG") ||
                  absl::StrContains(info.outcome().error().message(),
                                    "exited with code 7"))
          << info.outcome().error().message();
    } else {
      EXPECT_EQ(info.outcome().value().number_value(), input * input)
          << info.ShortDebugString();
    }
  }
  EXPECT_EQ(crashes, 200);
  ASSERT_TRUE(calls_->GetStats(&stats).ok());
  const futured::v1::PoolStats* pool = FindPool(stats, "process");
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(pool->worker_restarts(), 200);

  // Two live workers, no zombie, and the descriptors the daemon had.
  EXPECT_TRUE(PollUntil([&] {
    const auto children = ChildrenOf(daemon_->pid());
    return children.size() == 2 &&
           std::none_of(children.begin(), children.end(),
                        [](auto c) { return c.second == 'Z'; });
  }));
  EXPECT_TRUE(PollUntil([&] { return CountFds(daemon_->pid()) == fds_before; }))
      << "before " << fds_before << ", now " << CountFds(daemon_->pid());
}

TEST_F(ProcessPoolTest, CancelOfARunningTaskKillsItsProcess) {
  StartDaemon({"--processes=1"});
  const std::string id =
      MustSubmit(InProcessPool(CallOf("burn_cpu", {NumberValue(600)})));
  absl::StatusOr<FutureInfo> running =
      calls_->AwaitState(id, futured::v1::FUTURE_STATE_RUNNING);
  ASSERT_TRUE(running.ok()) << running.status();
  const pid_t pid = running->worker_pid();
  ASSERT_GT(pid, 0);
  EXPECT_FALSE(ProcessGone(pid));

  CancelResponse response;
  ASSERT_TRUE(calls_->Cancel(id, &response).ok());
  EXPECT_EQ(response.action(), futured::v1::CANCEL_ACTION_STOP_REQUESTED);
  EXPECT_EQ(MustResult(id).state(), futured::v1::FUTURE_STATE_CANCELLED);
  EXPECT_TRUE(PollUntil([pid] { return ProcessGone(pid); }));
  // The pool goes on with a new worker.
  const FutureInfo next = MustResult(MustSubmit(InProcessPool(CallOf("pid"))));
  EXPECT_NE(next.worker_pid(), pid);
}

TEST_F(ProcessPoolTest, SubmitTimeoutKillsTheWorkerAtTheDeadline) {
  StartDaemon({"--processes=1"});
  SubmitRequest request = InProcessPool(CallOf("burn_cpu", {NumberValue(600)}));
  *request.mutable_timeout() = DurationProto(absl::Milliseconds(500));
  const std::string id = MustSubmit(request);
  const FutureInfo info = MustResult(id);
  EXPECT_EQ(info.outcome().error().type(), "TimeoutError");
  ASSERT_GT(info.worker_pid(), 0);
  EXPECT_TRUE(PollUntil([&] { return ProcessGone(info.worker_pid()); }));
}

TEST_F(ProcessPoolTest, TaskOverTheMemoryLimitFailsWithMemoryError) {
  if (futured::testing::kAddressSanitizer) {
    GTEST_SKIP() << "an address-space limit cannot hold ASan's shadow memory";
  }
  StartDaemon({"--processes=1", "--worker_memory_limit=268435456"});
  const FutureInfo info = MustResult(
      MustSubmit(InProcessPool(CallOf("allocate", {NumberValue(1 << 30)}))));
  EXPECT_EQ(info.outcome().error().type(), "MemoryError")
      << info.ShortDebugString();
  const FutureInfo small = MustResult(
      MustSubmit(InProcessPool(CallOf("allocate", {NumberValue(1 << 20)}))));
  EXPECT_EQ(small.outcome().value().number_value(), 1 << 20);
}

TEST_F(ProcessPoolTest, CrashInTheThreadPoolIsRefused) {
  StartDaemon({"--processes=1"});
  const FutureInfo info =
      MustResult(MustSubmit(CallOf("crash", {StringValue("segv")})));
  EXPECT_EQ(info.pool(), "thread");
  EXPECT_EQ(info.outcome().error().type(), "RuntimeError");
  EXPECT_TRUE(absl::StrContains(info.outcome().error().message(),
                                "only in a process pool"));
  EXPECT_EQ(info.worker_pid(), 0);
}

TEST_F(ProcessPoolTest, MapRunsInTheProcessPool) {
  StartDaemon({"--processes=2"});
  MapRequest request;
  request.set_function("square");
  request.set_pool("process");
  for (int i = 1; i <= 5; ++i) *request.add_inputs() = NumberValue(i);
  std::vector<MapItem> items;
  grpc::Status status = calls_->Map(request, &items);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(items.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(items[i].outcome().value().number_value(), (i + 1) * (i + 1));
  }
}

TEST_F(ProcessPoolTest, CancelOfATaskSentInABatchWithdrawsItAndItNeverRuns) {
  StartDaemon({"--processes=1", "--exec_allow=/usr/bin/touch"});
  const std::string dir = ::testing::TempDir();
  const std::string victim_file =
      absl::StrCat(dir, "/futured-batch-victim-", getpid());
  const std::string control_file =
      absl::StrCat(dir, "/futured-batch-control-", getpid());
  std::remove(victim_file.c_str());
  std::remove(control_file.c_str());
  auto touch = [](const std::string& path) {
    return InProcessPool(CallOf(
        "exec",
        {ListValue({StringValue("/usr/bin/touch"), StringValue(path)})}));
  };
  // While the blocker runs, three tasks queue up; the worker gets them in
  // one batch when it is free, the holder first.
  const std::string blocker =
      MustSubmit(InProcessPool(CallOf("sleep", {NumberValue(0.3)})));
  ASSERT_TRUE(
      calls_->AwaitState(blocker, futured::v1::FUTURE_STATE_RUNNING).ok());
  const std::string holder =
      MustSubmit(InProcessPool(CallOf("sleep", {NumberValue(1)})));
  const std::string victim = MustSubmit(touch(victim_file));
  const std::string control = MustSubmit(touch(control_file));
  absl::StatusOr<FutureInfo> running =
      calls_->AwaitState(holder, futured::v1::FUTURE_STATE_RUNNING);
  ASSERT_TRUE(running.ok()) << running.status();

  CancelResponse response;
  ASSERT_TRUE(calls_->Cancel(victim, &response).ok());
  EXPECT_EQ(response.action(), futured::v1::CANCEL_ACTION_CANCELLED_PENDING);
  const FutureInfo control_info = MustResult(control);
  EXPECT_EQ(control_info.state(), futured::v1::FUTURE_STATE_FINISHED)
      << control_info.ShortDebugString();
  EXPECT_EQ(control_info.outcome()
                .value()
                .struct_value()
                .fields()
                .at("exit_code")
                .number_value(),
            0);
  // The same worker ran the holder and, after the withdrawn task, the
  // control: they were one batch.
  EXPECT_EQ(control_info.worker_pid(), running->worker_pid());
  const FutureInfo victim_info = MustResult(victim);
  EXPECT_EQ(victim_info.state(), futured::v1::FUTURE_STATE_CANCELLED);
  EXPECT_FALSE(victim_info.has_start_time());
  EXPECT_EQ(access(control_file.c_str(), F_OK), 0);
  EXPECT_NE(access(victim_file.c_str(), F_OK), 0);
  std::remove(control_file.c_str());
}

TEST_F(ProcessPoolTest, AMapOfThousandsInBatchesAnswersEveryInputInOrder) {
  StartDaemon({"--processes=2"});
  AwaitWorkers(2);
  MapRequest request;
  request.set_function("square");
  request.set_pool("process");
  constexpr int kInputs = 3000;
  for (int i = 0; i < kInputs; ++i) *request.add_inputs() = NumberValue(i);
  std::vector<MapItem> items;
  grpc::Status status = calls_->Map(request, &items);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(items.size(), static_cast<size_t>(kInputs));
  for (int i = 0; i < kInputs; ++i) {
    ASSERT_EQ(items[i].index(), i);
    ASSERT_EQ(items[i].outcome().value().number_value(),
              static_cast<double>(i) * i);
  }
}

TEST_F(ProcessPoolTest, ExtraNamedPoolsComeFromFlags) {
  StartDaemon({"--processes=1", "--pools=cpu:process:2,io:thread:3"});
  GetStatsResponse stats;
  ASSERT_TRUE(calls_->GetStats(&stats).ok());
  const futured::v1::PoolStats* cpu = FindPool(stats, "cpu");
  const futured::v1::PoolStats* io = FindPool(stats, "io");
  ASSERT_NE(cpu, nullptr);
  ASSERT_NE(io, nullptr);
  EXPECT_EQ(cpu->kind(), "process");
  EXPECT_EQ(cpu->workers(), 2);
  EXPECT_EQ(io->kind(), "thread");
  EXPECT_EQ(io->workers(), 3);
  SubmitRequest request = CallOf("pid");
  request.set_pool("cpu");
  const FutureInfo info = MustResult(MustSubmit(request));
  EXPECT_EQ(info.pool(), "cpu");
  EXPECT_GT(info.worker_pid(), 0);
}

TEST_F(ProcessPoolTest, SigtermOfTheDaemonLeavesNoWorkerBehind) {
  StartDaemon({"--processes=2", "--shutdown_grace=0s"});
  const std::string id =
      MustSubmit(InProcessPool(CallOf("burn_cpu", {NumberValue(600)})));
  ASSERT_TRUE(calls_->AwaitState(id, futured::v1::FUTURE_STATE_RUNNING).ok());
  const std::vector<pid_t> workers = AwaitWorkers(2);
  absl::StatusOr<int> status = daemon_->Stop(SIGTERM);
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
  for (pid_t pid : workers) {
    EXPECT_TRUE(PollUntil([pid] { return ProcessGone(pid); })) << pid;
  }
}

TEST_F(ProcessPoolTest, SigkillOfTheDaemonLeavesNoWorkerBehind) {
  StartDaemon({"--processes=2"});
  const std::string id =
      MustSubmit(InProcessPool(CallOf("burn_cpu", {NumberValue(600)})));
  ASSERT_TRUE(calls_->AwaitState(id, futured::v1::FUTURE_STATE_RUNNING).ok());
  const std::vector<pid_t> workers = AwaitWorkers(2);
  ASSERT_TRUE(daemon_->Stop(SIGKILL).ok());
  for (pid_t pid : workers) {
    EXPECT_TRUE(PollUntil([pid] { return ProcessGone(pid); })) << pid;
  }
}

}  // namespace
}  // namespace futured::testing
