#include "server/engine.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/future_id.h"

namespace futured {
namespace {

constexpr absl::string_view kDefaultPool = "thread";

absl::Duration ExpiryPeriod(absl::Duration retention) {
  return std::clamp(retention / 10, absl::Milliseconds(100), absl::Seconds(10));
}

}  // namespace

Engine::Engine(EngineOptions options, const TaskRegistry* registry,
               TimerQueue* timers)
    : options_(std::move(options)),
      registry_(registry),
      timers_(timers),
      table_(options_.retention) {
  pools_.emplace(kDefaultPool, std::make_unique<ThreadPool>(ThreadPool::Options{
                                   .name = std::string(kDefaultPool),
                                   .workers = options_.threads,
                                   .queue_capacity = options_.queue_capacity}));
  absl::MutexLock lock(&expiry_->mu);
  ScheduleExpiryLocked(expiry_);
}

Engine::~Engine() {
  {
    absl::MutexLock lock(&expiry_->mu);
    expiry_->stopped = true;
    timers_->Cancel(expiry_->timer);
  }
  Shutdown(absl::ZeroDuration());
}

absl::StatusOr<PreparedCall> Engine::Prepare(
    absl::string_view function,
    const google::protobuf::RepeatedPtrField<google::protobuf::Value>& args,
    const google::protobuf::Struct& kwargs, absl::string_view pool) const {
  if (function.empty()) {
    return absl::InvalidArgumentError("function is empty");
  }
  if (pool.empty()) pool = kDefaultPool;
  auto pool_it = pools_.find(pool);
  if (pool_it == pools_.end()) {
    std::vector<std::string> names;
    for (const auto& [name, p] : pools_) names.push_back(name);
    return absl::NotFoundError(absl::StrCat(
        "pool '", pool,
        "' is not configured (pools: ", absl::StrJoin(names, ", "), ")"));
  }
  absl::StatusOr<const TaskSpec*> spec = registry_->Find(function);
  if (!spec.ok()) return spec.status();
  absl::StatusOr<BoundArgs> bound = BindArgs(**spec, args, kwargs);
  if (!bound.ok()) return bound.status();
  return PreparedCall{
      .spec = *spec, .args = *std::move(bound), .pool = pool_it->second.get()};
}

absl::StatusOr<std::shared_ptr<Future>> Engine::Start(
    const PreparedCall& call, std::optional<absl::Duration> timeout,
    Tracking tracking) {
  const absl::Time now = absl::Now();
  const absl::Time deadline = timeout ? now + *timeout : absl::InfiniteFuture();
  auto future = std::make_shared<Future>(NewFutureId(), call.spec->name,
                                         call.pool->name(), now, deadline);
  absl::Status queued =
      call.pool->Submit(future, Task{.spec = call.spec, .args = call.args});
  if (!queued.ok()) return queued;
  if (tracking == Tracking::kInTable) table_.Insert(future);
  if (timeout) ScheduleDeadline(future);
  return future;
}

void Engine::ScheduleDeadline(const std::shared_ptr<Future>& future) {
  std::weak_ptr<Future> weak = future;
  const TimerQueue::TimerId timer =
      timers_->Schedule(future->deadline(), [weak] {
        std::shared_ptr<Future> f = weak.lock();
        if (f == nullptr) return;
        TaskError timeout{
            .type = "TimeoutError",
            .message = absl::StrCat("task ", f->function(),
                                    " did not finish before its deadline")};
        if (f->Finish(std::move(timeout), absl::Now())) f->RequestStop();
      });
  future->AddDoneCallback([timers = timers_, timer] { timers->Cancel(timer); });
}

void Engine::ScheduleExpiryLocked(const std::shared_ptr<ExpiryState>& state) {
  const absl::Time when = absl::Now() + ExpiryPeriod(options_.retention);
  state->timer = timers_->Schedule(when, [this, state] {
    absl::MutexLock lock(&state->mu);
    if (state->stopped) return;  // `this` is gone or going
    table_.ExpireFinished(absl::Now());
    ScheduleExpiryLocked(state);
  });
}

absl::StatusOr<std::shared_ptr<Future>> Engine::Find(
    absl::string_view id) const {
  return table_.Find(id);
}

absl::StatusOr<int64_t> Engine::Release(absl::Span<const std::string> ids) {
  return table_.Release(ids);
}

std::vector<PoolStats> Engine::PoolStatistics() const {
  std::vector<PoolStats> stats;
  for (const auto& [name, pool] : pools_) stats.push_back(pool->Stats());
  return stats;
}

bool Engine::Shutdown(absl::Duration grace) {
  if (std::exchange(shut_down_, true)) return true;
  bool all_stopped = true;
  for (auto& [name, pool] : pools_) {
    all_stopped = pool->Shutdown(grace) && all_stopped;
  }
  return all_stopped;
}

}  // namespace futured
