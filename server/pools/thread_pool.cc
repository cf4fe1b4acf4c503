#include "server/pools/thread_pool.h"

#include <algorithm>
#include <utility>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "server/task/outcome.h"
#include "server/task/progress.h"
#include "server/task/task_call.h"
#include "server/task/task_context.h"

namespace futured::server {
namespace {

// A thread-pool task's progress goes straight into its future.
class FutureProgress final : public ProgressSink {
 public:
  explicit FutureProgress(Future& future) : future_(future) {}
  void Report(double fraction, absl::string_view message) override {
    future_.SetProgress(MakeProgress(fraction, message, absl::Now()));
  }

 private:
  Future& future_;
};

// Runs `task` for `future` unless the future was cancelled in the queue.
// `left` runs once the thread is done with it, before the future is, so
// that whoever hears of its end sees the pool without it.
void RunTask(Future& future, const Task& task, absl::FunctionRef<void()> left) {
  if (!future.Start(absl::Now())) {
    left();
    return;
  }
  FutureProgress progress(future);
  const TaskContext ctx(future.token(), future.deadline(), PoolKind::kThread,
                        &progress);
  Outcome outcome = CallTask(*task.spec, ctx, task.args);
  const absl::Time end = absl::Now();
  left();
  future.Finish(std::move(outcome), end);
}

template <typename Entries>
std::vector<Future*> FuturesOf(const Entries& entries) {
  std::vector<Future*> futures;
  futures.reserve(entries.size());
  for (const QueuedTask& entry : entries) futures.push_back(entry.future.get());
  return futures;
}

}  // namespace

ThreadPool::ThreadPool(Options options)
    : options_(std::move(options)), shared_(std::make_shared<Shared>()) {
  const int workers = std::max(options_.workers, 0);
  {
    absl::MutexLock lock(&shared_->mu);
    shared_->taken.resize(workers);
    shared_->live_workers = workers;
  }
  shared_->before_dispatch = options_.before_dispatch;
  threads_.reserve(workers);
  for (int i = 0; i < workers; ++i) {
    threads_.emplace_back(&ThreadPool::WorkerLoop, shared_, i);
  }
}

ThreadPool::~ThreadPool() {
  // Also after an earlier Shutdown(): it joins workers that have exited since.
  if (Shutdown(absl::ZeroDuration())) return;
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.detach();
  }
}

absl::Status ThreadPool::SubmitAll(std::vector<QueuedTask> tasks) {
  absl::MutexLock lock(&shared_->mu);
  if (shared_->stopping) {
    return absl::UnavailableError(
        absl::StrCat("thread pool '", name(), "' is shutting down"));
  }
  const int64_t queued = static_cast<int64_t>(shared_->WaitingLocked());
  if (absl::Status room = QueueRoom("thread", name(), queued, tasks.size(),
                                    options_.queue_capacity);
      !room.ok()) {
    return room;
  }
  for (QueuedTask& task : tasks) shared_->queue.push_back(std::move(task));
  return absl::OkStatus();
}

void ThreadPool::StopAccepting() {
  std::deque<Entry> queued;
  std::deque<Entry> ready;
  {
    absl::MutexLock lock(&shared_->mu);
    shared_->stopping = true;
    queued.swap(shared_->queue);
    ready.swap(shared_->ready);
  }
  CancelAll(ready);
  CancelAll(queued);
}

bool ThreadPool::Shutdown(absl::Duration grace, absl::Duration stop_wait) {
  StopAccepting();
  // Stopping, a worker thread exits once its task has ended.
  if (!AwaitRunningTasks(grace, stop_wait)) return false;
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  return true;
}

PoolStats ThreadPool::Stats() const {
  absl::MutexLock lock(&shared_->mu);
  return PoolStats{
      .name = options_.name,
      .kind = "thread",
      .workers = static_cast<int64_t>(shared_->taken.size()),
      .queued = static_cast<int64_t>(shared_->WaitingLocked()),
      .running = std::count_if(
          shared_->taken.begin(), shared_->taken.end(),
          [](const std::shared_ptr<Future>& f) { return f != nullptr; }),
      .queue_capacity = options_.queue_capacity};
}

std::vector<WorkerView> ThreadPool::Workers() const {
  absl::MutexLock lock(&shared_->mu);
  std::vector<WorkerView> workers;
  workers.reserve(shared_->taken.size());
  for (const std::shared_ptr<Future>& future : shared_->taken) {
    workers.push_back(WorkerView{.pid = 0, .future = future});
  }
  return workers;
}

void ThreadPool::WorkerLoop(std::shared_ptr<Shared> shared, int index) {
  const bool hooked = shared->before_dispatch != nullptr;
  while (true) {
    Entry entry;
    std::vector<Entry> batch;
    {
      absl::MutexLock lock(&shared->mu);
      shared->mu.Await(
          absl::Condition(shared.get(), &Shared::HasWorkOrStopping));
      if (shared->stopping) break;
      std::deque<Entry>& from = hooked ? shared->ready : shared->queue;
      if (hooked && (from.empty() || shared->ShouldDispatch())) {
        const size_t n = std::min(shared->queue.size(), kDispatchWindow);
        batch.reserve(n);
        for (size_t i = 0; i < n; ++i) {
          batch.push_back(std::move(shared->queue.front()));
          shared->queue.pop_front();
        }
        shared->dispatching = true;
        shared->in_dispatch = batch.size();
      } else {
        entry = std::move(from.front());
        from.pop_front();
        shared->taken[index] = entry.future;
      }
    }
    if (!batch.empty()) {
      Dispatch(*shared, std::move(batch));
      continue;
    }
    RunTask(*entry.future, entry.task, [&] {
      absl::MutexLock lock(&shared->mu);
      shared->taken[index] = nullptr;
    });
  }
  absl::MutexLock lock(&shared->mu);
  --shared->live_workers;
}

void ThreadPool::Dispatch(Shared& shared, std::vector<Entry> batch) {
  shared.before_dispatch(FuturesOf(batch), 0);
  {
    absl::MutexLock lock(&shared.mu);
    shared.dispatching = false;
    shared.in_dispatch = 0;
    if (!shared.stopping) {
      for (Entry& entry : batch) shared.ready.push_back(std::move(entry));
      return;
    }
  }
  CancelAll(batch);
}

bool ThreadPool::AwaitNoneRunning(absl::Duration timeout) {
  absl::MutexLock lock(&shared_->mu);
  return shared_->mu.AwaitWithTimeout(
      absl::Condition(shared_.get(), &Shared::AllWorkersExited), timeout);
}

std::vector<std::shared_ptr<Future>> ThreadPool::RunningFutures() const {
  absl::MutexLock lock(&shared_->mu);
  std::vector<std::shared_ptr<Future>> taken;
  for (const std::shared_ptr<Future>& future : shared_->taken) {
    if (future != nullptr) taken.push_back(future);
  }
  return taken;
}

}  // namespace futured::server
