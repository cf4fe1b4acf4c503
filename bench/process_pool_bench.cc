// Process pool against thread pool, measured in one run on this machine:
//   1. per-task overhead for no-op tasks (echo), one at a time (round trip)
//      and in a batch of many queued at once (throughput);
//   2. the speed-up of CPU-bound factorial on two worker processes over one,
//      with the thread pool's speed-up beside it as a control.
// It drives the pools directly, as the Engine does, so gRPC is not measured.
//
//   process_pool_bench [echo_tasks] [factorial_tasks]
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "server/future/future.h"
#include "server/pools/pool.h"
#include "server/pools/process_pool.h"
#include "server/pools/thread_pool.h"
#include "server/task/task_registry.h"
#include "server/tasks/builtin_tasks.h"

namespace futured::server {
namespace {

void WaitDone(Future& future) {
  absl::Notification done;
  future.AddDoneCallback([&done] { done.Notify(); });
  done.WaitForNotification();
}

std::shared_ptr<Future> Submit(Pool& pool, const TaskSpec* spec,
                               double argument) {
  google::protobuf::Value value;
  value.set_number_value(argument);
  auto future =
      std::make_shared<Future>("bench", spec->name, pool.name(), absl::Now());
  const absl::Status status =
      pool.Submit(future, Task{.spec = spec, .args = BoundArgs({value})});
  if (!status.ok()) {
    std::fprintf(stderr, "submit failed: %s\n", status.ToString().c_str());
    std::exit(EXIT_FAILURE);
  }
  return future;
}

// Waits until the pool answers (for a process pool: a worker is up).
void WarmUp(Pool& pool, const TaskSpec* echo, int tasks) {
  std::vector<std::shared_ptr<Future>> futures;
  for (int i = 0; i < tasks; ++i) futures.push_back(Submit(pool, echo, i));
  for (auto& f : futures) WaitDone(*f);
}

// Mean time per task with one task in flight at a time.
absl::Duration RoundTrip(Pool& pool, const TaskSpec* echo, int tasks) {
  const absl::Time start = absl::Now();
  for (int i = 0; i < tasks; ++i) WaitDone(*Submit(pool, echo, i));
  return (absl::Now() - start) / tasks;
}

// Wall time for `tasks` tasks queued at once, per task.
absl::Duration Batch(Pool& pool, const TaskSpec* spec, int tasks,
                     double argument, bool vary) {
  const absl::Time start = absl::Now();
  std::vector<std::shared_ptr<Future>> futures;
  for (int i = 0; i < tasks; ++i) {
    futures.push_back(Submit(pool, spec, vary ? argument + i : argument));
  }
  for (auto& f : futures) WaitDone(*f);
  return (absl::Now() - start) / tasks;
}

std::unique_ptr<Pool> MakeProcessPool(int workers) {
  ProcessPool::Options options;
  options.workers = workers;
  options.worker_binary = FUTURED_WORKER_BINARY;
  return std::make_unique<ProcessPool>(std::move(options));
}

std::unique_ptr<Pool> MakeThreadPool(int workers) {
  ThreadPool::Options options;
  options.workers = workers;
  return std::make_unique<ThreadPool>(std::move(options));
}

double Us(absl::Duration d) { return absl::ToDoubleMicroseconds(d); }

int Run(int echo_tasks, int factorial_tasks) {
  TaskRegistry registry;
  if (!RegisterBuiltinTasks(registry).ok()) return EXIT_FAILURE;
  const TaskSpec* echo = *registry.Find("echo");
  const TaskSpec* factorial = *registry.Find("factorial");

  std::unique_ptr<Pool> threads = MakeThreadPool(1);
  std::unique_ptr<Pool> processes = MakeProcessPool(1);
  WarmUp(*threads, echo, 100);
  WarmUp(*processes, echo, 100);
  const absl::Duration thread_trip = RoundTrip(*threads, echo, echo_tasks);
  const absl::Duration process_trip = RoundTrip(*processes, echo, echo_tasks);
  const absl::Duration thread_batch =
      Batch(*threads, echo, echo_tasks, 1, false);
  const absl::Duration process_batch =
      Batch(*processes, echo, echo_tasks, 1, false);
  std::printf("no-op echo, 1 worker, %d tasks\n", echo_tasks);
  std::printf(
      "  round trip per task: thread %.1f us, process %.1f us"
      " -> process/thread %.1fx\n",
      Us(thread_trip), Us(process_trip), Us(process_trip) / Us(thread_trip));
  std::printf(
      "  batch, per task:     thread %.1f us, process %.1f us"
      " -> process/thread %.1fx\n",
      Us(thread_batch), Us(process_batch),
      Us(process_batch) / Us(thread_batch));
  threads->Shutdown(absl::Seconds(5));
  processes->Shutdown(absl::Seconds(5));

  // factorial(100000), factorial(100001), ...: the same work in every run.
  // The thread pool's figures are the control: C++ threads run in parallel
  // too, so they show what this machine's free cores allow right now.
  std::printf("factorial(100000..), %d tasks, ms per task\n", factorial_tasks);
  for (const auto& [kind, make] :
       {std::pair{"process", &MakeProcessPool}, {"thread", &MakeThreadPool}}) {
    absl::Duration per_task[2];
    for (int workers : {1, 2}) {
      std::unique_ptr<Pool> pool = make(workers);
      WarmUp(*pool, echo, 100);
      per_task[workers - 1] =
          Batch(*pool, factorial, factorial_tasks, 100000, true);
      pool->Shutdown(absl::Seconds(5));
    }
    std::printf(
        "  %-7s pool: 1 worker %.1f, 2 workers %.1f -> speed-up "
        "%.2fx\n",
        kind, absl::ToDoubleMilliseconds(per_task[0]),
        absl::ToDoubleMilliseconds(per_task[1]),
        absl::FDivDuration(per_task[0], per_task[1]));
  }
  std::ifstream loadavg("/proc/loadavg");
  std::string load;
  std::getline(loadavg, load);
  std::printf("load average during the run: %s\n", load.c_str());
  return EXIT_SUCCESS;
}

}  // namespace
}  // namespace futured::server

int main(int argc, char** argv) {
  const int echo_tasks = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int factorial_tasks = argc > 2 ? std::atoi(argv[2]) : 16;
  if (echo_tasks <= 0 || factorial_tasks <= 0) {
    std::fprintf(stderr, "usage: %s [echo_tasks] [factorial_tasks]\n", argv[0]);
    return EXIT_FAILURE;
  }
  return futured::server::Run(echo_tasks, factorial_tasks);
}
