// Google Benchmark micro-benchmarks of the daemon's hot paths, without gRPC:
// the floor under what futured-bench measures through the network.
//   build-rel/bench/hot_paths_bench
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "common/future_id.h"
#include "common/mutex_deadlock_detection.h"
#include "server/engine/future_table.h"
#include "server/future/future.h"
#include "server/pools/thread_pool.h"
#include "server/task/outcome.h"
#include "server/task/task_registry.h"

namespace futured::server {
namespace {

std::shared_ptr<Future> NewFuture() {
  return std::make_shared<Future>(NewFutureId(), "echo", "thread", absl::Now());
}

// Making a future and its ID: paid once per task.
void BM_NewFuture(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(NewFuture());
}
BENCHMARK(BM_NewFuture);

// A principal, as the gRPC layer names a caller (longer than the small
// string buffer, as a real one may be).
constexpr absl::string_view kOwner = "alice@example.com";

// FutureTable::Insert of a new future (Submit's share of the table).
void BM_FutureTableInsert(benchmark::State& state) {
  FutureTable table(absl::Hours(1));
  for (auto _ : state) table.Insert(NewFuture(), kOwner);
}
BENCHMARK(BM_FutureTableInsert);

// FutureTable::Find among `range(0)` futures (Result, GetFuture, Wait).
void BM_FutureTableFind(benchmark::State& state) {
  FutureTable table(absl::Hours(1));
  std::vector<std::string> ids;
  for (int i = 0; i < state.range(0); ++i) {
    auto future = NewFuture();
    ids.push_back(future->id());
    table.Insert(std::move(future), kOwner);
  }
  size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.Find(ids[i++ % ids.size()], kOwner));
  }
}
BENCHMARK(BM_FutureTableFind)->Arg(1000)->Arg(1000000);

// Thread-pool queue push and pop: `range(0)` no-op tasks through a pool of
// two workers, per iteration; items/s is the pool's raw rate.
void BM_ThreadPoolRoundTrip(benchmark::State& state) {
  TaskSpec spec{.name = "noop",
                .description = "does nothing",
                .params = {},
                .function = [](const TaskContext&, const BoundArgs&) {
                  return Outcome(google::protobuf::Value());
                }};
  ThreadPool pool({.name = "thread", .workers = 2, .queue_capacity = 1 << 20});
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) {
    absl::BlockingCounter done(n);
    for (int i = 0; i < n; ++i) {
      auto future = NewFuture();
      future->AddDoneCallback([&done] { done.DecrementCount(); });
      (void)pool.Submit(std::move(future), Task{.spec = &spec, .args = {}});
    }
    done.Wait();
  }
  state.SetItemsProcessed(state.iterations() * n);
  pool.Shutdown(absl::Seconds(5));
}
BENCHMARK(BM_ThreadPoolRoundTrip)->Arg(1000)->UseRealTime();

// Completion fan-out: Finish() of a future with `range(0)` done-callbacks
// (the waiting Result/AsCompleted/Watch calls on one future).
void BM_CompletionFanOut(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  int64_t ran = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto future = NewFuture();
    for (int i = 0; i < n; ++i) future->AddDoneCallback([&ran] { ++ran; });
    future->Start(absl::Now());
    state.ResumeTiming();
    future->Finish(Outcome(google::protobuf::Value()), absl::Now());
  }
  state.SetItemsProcessed(ran);
}
BENCHMARK(BM_CompletionFanOut)->Arg(1)->Arg(100)->Arg(10000);

}  // namespace
}  // namespace futured::server

int main(int argc, char** argv) {
  futured::ConfigureMutexDeadlockDetection();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
