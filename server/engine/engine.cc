#include "server/engine/engine.h"

#include <algorithm>
#include <random>
#include <type_traits>
#include <utility>
#include <variant>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "common/future_id.h"
#include "server/engine/call_fingerprint.h"

namespace futured::server {
namespace {

constexpr absl::string_view kDefaultPool = "thread";

absl::Duration ExpiryPeriod(absl::Duration retention) {
  return std::clamp(retention / 10, absl::Milliseconds(100), absl::Seconds(10));
}

std::vector<std::string> FunctionNames(const TaskRegistry& registry) {
  std::vector<std::string> names;
  for (const TaskSpec* spec : registry.List()) names.push_back(spec->name);
  return names;
}

// The fingerprint of a prepared call (call_fingerprint.h).
uint64_t CallFingerprint(const PreparedCall& call,
                         std::optional<absl::Duration> timeout) {
  return CallFingerprint(call.spec->name, call.pool->name(), call.args,
                         timeout);
}

// The bound arguments as the journal keeps them: a ListValue.
std::string SerializeArgs(const BoundArgs& args) {
  google::protobuf::ListValue list;
  for (size_t i = 0; i < args.size(); ++i) *list.add_values() = args.Get(i);
  return list.SerializeAsString();
}

// Uniform in [0, 1): the random part of a retry's backoff.
double UnitRandom() {
  thread_local std::mt19937_64 generator{std::random_device{}()};
  return std::uniform_real_distribution<double>(0, 1)(generator);
}

}  // namespace

Engine::Engine(EngineOptions options, const TaskRegistry* registry,
               TimerQueue* timers)
    : options_(std::move(options)),
      registry_(registry),
      timers_(timers),
      table_(options_.retention,
             [this](absl::string_view id) { return LoadDone(id); }),
      metrics_(std::make_shared<TaskMetrics>(FunctionNames(*registry))),
      pending_(
          std::make_shared<PendingLimit>(options_.max_pending_per_principal)),
      journal_(options_.journal),
      remote_(options_.bus != nullptr
                  ? std::make_unique<RemoteFutures>(options_.bus)
                  : nullptr) {
  for (PoolOptions pool_options : options_.pools) {
    if (journal_ != nullptr) {
      std::visit([this](auto& o) { o.before_dispatch = JournalDispatch(); },
                 pool_options);
    }
    std::unique_ptr<Pool> pool = std::visit(
        [](const auto& o) -> std::unique_ptr<Pool> {
          using T = std::decay_t<decltype(o)>;
          if constexpr (std::is_same_v<T, ThreadPool::Options>) {
            return std::make_unique<ThreadPool>(o);
          } else {
            return std::make_unique<ProcessPool>(o);
          }
        },
        pool_options);
    std::string name = pool->name();
    pools_.emplace(std::move(name), std::move(pool));
  }
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
  if (absl::Status within =
          CheckArgumentLimits(args, kwargs, options_.argument_limits);
      !within.ok()) {
    return within;
  }
  absl::StatusOr<BoundArgs> bound = BindArgs(**spec, args, kwargs);
  if (!bound.ok()) return bound.status();
  if ((*spec)->validate) {
    if (absl::Status valid = (*spec)->validate(*bound); !valid.ok()) {
      return valid;
    }
  }
  return PreparedCall{
      .spec = *spec, .args = *std::move(bound), .pool = pool_it->second.get()};
}

absl::StatusOr<std::shared_ptr<Future>> Engine::Start(
    PreparedCall call, std::optional<absl::Duration> timeout, Tracking tracking,
    absl::string_view principal) {
  std::vector<PreparedCall> one;
  one.push_back(std::move(call));
  absl::StatusOr<std::vector<std::shared_ptr<Future>>> futures =
      StartAll(std::move(one), timeout, tracking, principal);
  if (!futures.ok()) return futures.status();
  return std::move(futures->front());
}

absl::StatusOr<std::vector<std::shared_ptr<Future>>> Engine::StartAll(
    std::vector<PreparedCall> calls, std::optional<absl::Duration> timeout,
    Tracking tracking, absl::string_view principal) {
  if (calls.empty()) return std::vector<std::shared_ptr<Future>>();
  Pool* const pool = calls.front().pool;
  for (const PreparedCall& call : calls) {
    if (call.pool != pool) {
      return absl::InvalidArgumentError(
          "calls started together must run in one pool");
    }
  }
  const auto count = static_cast<int64_t>(calls.size());
  if (absl::Status slots = pending_->Acquire(principal, count); !slots.ok()) {
    return slots;
  }
  const absl::Time now = absl::Now();
  const absl::Time deadline = timeout ? now + *timeout : absl::InfiniteFuture();
  std::vector<std::shared_ptr<Future>> futures;
  std::vector<QueuedTask> tasks;
  futures.reserve(calls.size());
  tasks.reserve(calls.size());
  for (PreparedCall& call : calls) {
    auto future = std::make_shared<Future>(NewFutureId(), call.spec->name,
                                           pool->name(), now, deadline);
    Task task{.spec = call.spec, .args = std::move(call.args)};
    ArmRetry(future, call.retry.get(), task, pool);
    futures.push_back(future);
    tasks.push_back(QueuedTask{std::move(future), std::move(task)});
  }
  if (absl::Status queued = pool->SubmitAll(std::move(tasks)); !queued.ok()) {
    pending_->Release(principal, count);
    return queued;
  }
  for (const std::shared_ptr<Future>& future : futures) {
    AccountWhenDone(future, principal);
    if (tracking == Tracking::kInTable) table_.Insert(future, principal);
    if (timeout) ScheduleDeadline(future);
  }
  return futures;
}

absl::StatusOr<std::shared_ptr<Future>> Engine::StartOnce(
    const RequestKey& key, PreparedCall call,
    std::optional<absl::Duration> timeout) {
  const uint64_t fingerprint = CallFingerprint(call, timeout);
  return requests_.StartOnce(
      key, fingerprint,
      [&](absl::string_view id) { return table_.Find(id, key.principal); },
      [&]() {
        return Start(std::move(call), timeout, Tracking::kInTable,
                     key.principal);
      });
}

void Engine::Submit(const RequestKey& key, PreparedCall call,
                    std::optional<absl::Duration> timeout, Accepted accepted) {
  if (journal_ == nullptr) {
    std::move(accepted)(
        key.request_id.empty()
            ? Start(std::move(call), timeout, Tracking::kInTable, key.principal)
            : StartOnce(key, std::move(call), timeout));
    return;
  }
  bool handed_over = false;
  absl::StatusOr<std::shared_ptr<Future>> future;
  if (key.request_id.empty()) {
    future = Admit(key, std::move(call), timeout, accepted, handed_over);
  } else {
    const uint64_t fingerprint = CallFingerprint(call, timeout);
    future = requests_.StartOnce(
        key, fingerprint,
        [&](absl::string_view id) { return table_.Find(id, key.principal); },
        [&]() {
          return Admit(key, std::move(call), timeout, accepted, handed_over);
        });
  }
  // Unless admitted, the answer is known now: an error, or the future a
  // request ID started before (once that is durable).
  if (handed_over) return;
  if (future.ok() && AwaitAccepted(*future, accepted)) return;
  std::move(accepted)(std::move(future));
}

bool Engine::AwaitAccepted(const std::shared_ptr<Future>& future,
                           Accepted& accepted) {
  absl::MutexLock lock(&accepting_mu_);
  auto it = accepting_.find(future->id());
  if (it == accepting_.end()) return false;
  it->second.push_back(std::move(accepted));
  return true;
}

std::vector<Engine::Accepted> Engine::TakeAcceptWaiters(const std::string& id) {
  absl::MutexLock lock(&accepting_mu_);
  auto node = accepting_.extract(id);
  if (node.empty()) return {};
  return std::move(node.mapped());
}

absl::StatusOr<std::shared_ptr<Future>> Engine::Admit(
    const RequestKey& key, PreparedCall call,
    std::optional<absl::Duration> timeout, Accepted& accepted,
    bool& handed_over) {
  if (absl::Status slot = pending_->Acquire(key.principal); !slot.ok()) {
    return slot;
  }
  const absl::Time now = absl::Now();
  const absl::Time deadline = timeout ? now + *timeout : absl::InfiniteFuture();
  auto future = std::make_shared<Future>(NewFutureId(), call.spec->name,
                                         call.pool->name(), now, deadline);
  AcceptedCall record{
      .id = future->id(),
      .principal = key.principal,
      .request_id = key.request_id,
      .function = call.spec->name,
      .pool = call.pool->name(),
      .args = SerializeArgs(call.args),
      .submit_time = now,
      .deadline = deadline,
      .timeout = timeout,
      .retry_policy = call.retry ? std::optional(*call.retry) : std::nullopt};
  JournalEnd(future);
  if (!key.request_id.empty()) {
    absl::MutexLock lock(&accepting_mu_);
    accepting_.try_emplace(future->id());
  }
  Task task{.spec = call.spec, .args = std::move(call.args)};
  ArmRetry(future, call.retry.get(), task, call.pool);
  // In the table at once, so that a retry of its request ID finds it.
  table_.Insert(future, key.principal);
  std::vector<AcceptedCall> records;
  records.push_back(std::move(record));
  journal_->Accept(
      std::move(records),
      [this, future, task = std::move(task), pool = call.pool,
       principal = key.principal, has_timeout = timeout.has_value(),
       accepted = std::move(accepted)](absl::Status committed) mutable {
        OnAccepted(std::move(committed), std::move(future), std::move(task),
                   pool, principal, has_timeout, std::move(accepted));
      });
  handed_over = true;
  return future;
}

void Engine::OnAccepted(absl::Status committed, std::shared_ptr<Future> future,
                        Task task, Pool* pool, const std::string& principal,
                        bool has_timeout, Accepted accepted) {
  absl::Status queued = committed;
  if (committed.ok()) queued = pool->Submit(future, std::move(task));
  if (!queued.ok() && committed.ok() && stopping_->load()) {
    // Durable, and the stop came first: it runs after the restart.
    queued = absl::OkStatus();
  }
  if (!queued.ok()) {
    table_.Remove(future->id());
    requests_.Forget(future->id());
    pending_->Release(principal);
    if (committed.ok()) journal_->Forget({future->id()});
    std::move(accepted)(queued);
    for (Accepted& waiter : TakeAcceptWaiters(future->id())) {
      std::move(waiter)(queued);
    }
    return;
  }
  AccountWhenDone(future, principal);
  if (has_timeout) ScheduleDeadline(future);
  std::vector<Accepted> waiters = TakeAcceptWaiters(future->id());
  for (Accepted& waiter : waiters) std::move(waiter)(future);
  std::move(accepted)(std::move(future));
}

void Engine::JournalEnd(const std::shared_ptr<Future>& future) {
  std::weak_ptr<Future> weak = future;
  future->SetEndHook([journal = journal_, stopping = stopping_, weak](
                         FutureState state, FutureEnding ending) {
    std::shared_ptr<Future> f = weak.lock();
    if (f == nullptr) return;
    // Cancelled by the stop: never shown cancelled, and taken up again
    // after the restart. Unless it started, it is pending again: a pool may
    // have recorded its start ahead of running it (Unstart() leaves a
    // pending one as it is).
    if (state == FutureState::kCancelled && stopping->load() &&
        !f->CancelledByOwner()) {
      if (!ending.start_time) journal->Unstart({f->id()});
      return;
    }
    journal->End(f->id(), state, std::move(ending), [f](absl::Status) {
      // Shown even if the commit failed: whoever waits gets the outcome;
      // the journal, if it comes back, has the future unfinished.
      f->Publish();
    });
  });
}

CancelAction Engine::Cancel(const std::shared_ptr<Future>& future,
                            bool only_if_pending) const {
  const absl::Time now = absl::Now();
  const CancelAction action = future->CancelByOwner(now, only_if_pending);
  // The stop cancelled it first and held that back, to run it after the
  // restart: its owner's cancellation stands instead.
  if (action != CancelAction::kAlreadyDone || journal_ == nullptr ||
      !stopping_->load() || future->HeldEnd() != FutureState::kCancelled) {
    return action;
  }
  const std::optional<absl::Time> start_time = future->Snapshot().start_time;
  if (only_if_pending && start_time) return CancelAction::kLeftRunning;
  journal_->End(
      future->id(), FutureState::kCancelled,
      FutureEnding{
          .outcome = Cancelled{}, .start_time = start_time, .end_time = now},
      [future](absl::Status) { future->Publish(); });
  return start_time ? CancelAction::kStopRequested
                    : CancelAction::kCancelledPending;
}

DispatchHook Engine::JournalDispatch() {
  return [this, journal = journal_](absl::Span<Future* const> futures,
                                    int worker_pid) {
    std::vector<std::string> ids;
    ids.reserve(futures.size());
    for (const Future* future : futures) {
      // Run's and Map's futures are not journaled.
      if (future->HasEndHook()) ids.push_back(future->id());
    }
    if (ids.empty()) return;
    absl::Notification committed;
    absl::Status recorded;
    absl::flat_hash_set<std::string> lost;
    journal->Start(std::move(ids), absl::Now(), worker_pid,
                   [&](absl::StatusOr<std::vector<std::string>> started) {
                     // A copy of its own: the writer's is not shared across
                     // threads (TSan cannot see absl's reference count).
                     recorded = absl::Status(started.status().code(),
                                             started.status().message());
                     if (started.ok())
                       lost.insert(started->begin(), started->end());
                     committed.Notify();
                   });
    committed.WaitForNotification();
    if (recorded.ok()) {
      for (Future* future : futures) {
        if (lost.contains(future->id())) HandOver(*future);
      }
      return;
    }
    // Unrecorded, a task could run again after a crash: it fails instead.
    const absl::Time now = absl::Now();
    for (Future* future : futures) {
      if (!future->HasEndHook()) continue;
      future->FailAndStop(
          TaskError{.type = "OSError",
                    .message = absl::StrCat(
                        "not started: the journal could not record its "
                        "start: ",
                        recorded.ToString())},
          now);
    }
  };
}

absl::StatusOr<google::protobuf::ListValue> Engine::CallArguments(
    absl::string_view id) const {
  if (journal_ == nullptr) {
    return absl::FailedPreconditionError(
        "arguments are kept only in the journal, and this daemon runs "
        "without one (--state_dir=none)");
  }
  absl::StatusOr<AcceptedCall> call = journal_->FindCall(id);
  if (!call.ok()) return call.status();
  google::protobuf::ListValue args;
  if (!args.ParseFromString(call->args)) {
    return absl::DataLossError(absl::StrCat(
        "the journal's arguments of future ", id, " are unreadable"));
  }
  return args;
}

std::optional<JournalStats> Engine::JournalStatistics() const {
  if (journal_ == nullptr) return std::nullopt;
  return journal_->Stats();
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
        f->FailAndStop(std::move(timeout), absl::Now());
      });
  future->AddDoneCallback([timers = timers_, timer] { timers->Cancel(timer); });
}

void Engine::ArmRetry(const std::shared_ptr<Future>& future,
                      const RetryPolicy* policy, const Task& task, Pool* pool,
                      int attempt, std::vector<AttemptError> earlier) {
  if (policy == nullptr) return;
  std::weak_ptr<Future> weak = future;
  // With a journal, only journaled futures (Submit's) have their retries
  // journaled; Run's are not kept across a restart.
  Journal* journal = future->HasEndHook() ? journal_ : nullptr;
  future->SetRetry(
      *policy,
      [weak, policy = *policy, task, pool, journal, backoffs = backoffs_,
       timers = timers_,
       metrics = metrics_](int next_attempt, std::vector<AttemptError> failed) {
        std::shared_ptr<Future> f = weak.lock();
        if (f == nullptr) return;
        metrics->RecordRetry(f->function());
        TaskError last = failed.back().error;
        // Before the next attempt's start, which the journal commits after
        // this (a future's records keep their order).
        if (journal != nullptr) {
          journal->Retry(f->id(), next_attempt, std::move(failed), nullptr);
        }
        const absl::Time when =
            absl::Now() + policy.BackoffBefore(next_attempt, UnitRandom());
        QueueAfterBackoff(backoffs, timers, f, when, task, pool,
                          std::move(last));
      },
      attempt, std::move(earlier));
  // A future cancelled (or past its deadline) in its backoff needs no timer.
  future->AddDoneCallback(
      [backoffs = backoffs_, timers = timers_, key = future.get()] {
        absl::MutexLock lock(&backoffs->mu);
        auto it = backoffs->waiting.find(key);
        if (it == backoffs->waiting.end()) return;
        timers->Cancel(it->second.first);
        backoffs->waiting.erase(it);
      });
}

void Engine::QueueAfterBackoff(const std::shared_ptr<Backoffs>& backoffs,
                               TimerQueue* timers,
                               const std::shared_ptr<Future>& future,
                               absl::Time when, Task task, Pool* pool,
                               TaskError last) {
  std::weak_ptr<Future> weak = future;
  {
    absl::MutexLock lock(&backoffs->mu);
    if (!backoffs->stopped) {
      const TimerQueue::TimerId timer =
          timers->Schedule(when, [backoffs, weak, task = std::move(task), pool,
                                  last = std::move(last)]() mutable {
            QueueAgain(*backoffs, weak.lock(), std::move(task), pool,
                       std::move(last));
          });
      backoffs->waiting[future.get()] = {timer, weak};
      return;
    }
  }
  // Shutdown() has begun: as a queued future would be, it is cancelled.
  future->Cancel(absl::Now());
}

void Engine::QueueAgain(Backoffs& backoffs, std::shared_ptr<Future> future,
                        Task task, Pool* pool, TaskError last) {
  absl::Status queued;
  {
    absl::MutexLock lock(&backoffs.mu);
    if (future == nullptr || backoffs.stopped) return;
    backoffs.waiting.erase(future.get());
    if (future->done()) return;
    queued = pool->Submit(future, std::move(task));
  }
  if (queued.ok()) return;
  absl::StrAppend(&last.message, " (not tried again: ", queued.message(), ")");
  future->Finish(std::move(last), absl::Now());
}

void Engine::StopBackoffs() {
  std::vector<std::shared_ptr<Future>> waiting;
  {
    absl::MutexLock lock(&backoffs_->mu);
    backoffs_->stopped = true;
    for (auto& [key, entry] : backoffs_->waiting) {
      timers_->Cancel(entry.first);
      if (std::shared_ptr<Future> f = entry.second.lock()) {
        waiting.push_back(std::move(f));
      }
    }
    backoffs_->waiting.clear();
  }
  const absl::Time now = absl::Now();
  for (const std::shared_ptr<Future>& future : waiting) future->Cancel(now);
}

void Engine::AccountWhenDone(const std::shared_ptr<Future>& future,
                             absl::string_view principal, bool holds_slot) {
  // The future itself runs its callbacks, from inside one of its methods, so
  // it outlives them; a shared_ptr here would be a cycle until it is done.
  std::shared_ptr<PendingLimit> pending;
  std::string owner;
  if (pending_->enabled() && holds_slot) {
    pending = pending_;
    owner = std::string(principal);
  }
  future->AddDoneCallback([metrics = metrics_, pending = std::move(pending),
                           principal = std::move(owner), f = future.get()] {
    const TaskOutcome outcome =
        f->state() == FutureState::kCancelled
            ? TaskOutcome::kCancelled
            : (f->Raised() ? TaskOutcome::kFailed : TaskOutcome::kFinished);
    metrics->Record(f->function(), outcome, f->RunTime());
    if (pending != nullptr) pending->Release(principal);
  });
}

void Engine::ScheduleExpiryLocked(const std::shared_ptr<ExpiryState>& state) {
  const absl::Time when = absl::Now() + ExpiryPeriod(options_.retention);
  state->timer = timers_->Schedule(when, [this, state] {
    absl::MutexLock lock(&state->mu);
    if (state->stopped) return;  // `this` is gone or going
    std::vector<std::string> expired = table_.ExpireFinished(absl::Now());
    if (requests_.size() > 0) {
      for (const std::string& id : expired) requests_.Forget(id);
    }
    if (journal_ != nullptr && !expired.empty()) {
      journal_->Forget(std::move(expired));
    }
    ScheduleExpiryLocked(state);
  });
}

absl::StatusOr<std::shared_ptr<Future>> Engine::Find(
    absl::string_view id, absl::string_view principal) const {
  return table_.Find(id, principal);
}

absl::StatusOr<int64_t> Engine::Release(absl::Span<const std::string> ids,
                                        absl::string_view principal) {
  absl::StatusOr<int64_t> released = table_.Release(ids, principal);
  if (released.ok() && requests_.size() > 0) {
    for (const std::string& id : ids) requests_.Forget(id);
  }
  if (released.ok() && journal_ != nullptr) {
    journal_->Forget(std::vector<std::string>(ids.begin(), ids.end()));
  }
  return released;
}

std::map<std::string, std::vector<WorkerView>> Engine::PoolWorkers() const {
  std::map<std::string, std::vector<WorkerView>> workers;
  for (const auto& [name, pool] : pools_) workers[name] = pool->Workers();
  return workers;
}

std::vector<PoolStats> Engine::PoolStatistics() const {
  std::vector<PoolStats> stats;
  for (const auto& [name, pool] : pools_) stats.push_back(pool->Stats());
  return stats;
}

bool Engine::Shutdown(absl::Duration grace) {
  if (std::exchange(shut_down_, true)) return true;
  stopping_->store(true);
  // No other node's request is served from now on.
  if (options_.bus != nullptr) options_.bus->Close();
  StopBackoffs();
  // One grace for all pools: running tasks of each have had it by the time
  // its pool's turn comes.
  const absl::Time deadline = absl::Now() + grace;
  for (auto& [name, pool] : pools_) pool->StopAccepting();
  bool all_stopped = true;
  for (auto& [name, pool] : pools_) {
    const absl::Duration left =
        std::max(deadline - absl::Now(), absl::ZeroDuration());
    all_stopped = pool->Shutdown(left) && all_stopped;
  }
  // Commits the ends of the tasks that finished in the grace, and shows them.
  if (journal_ != nullptr) journal_->Close();
  return all_stopped;
}

}  // namespace futured::server
