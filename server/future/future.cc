#include "server/future/future.h"

#include <utility>
#include <variant>

namespace futured::server {
namespace {

void RunCallbacks(std::map<Future::CallbackId, Future::Callback> callbacks) {
  for (auto& [id, callback] : callbacks) std::move(callback)();
}

void RunChangeCallbacks(
    const std::vector<std::shared_ptr<const Future::ChangeCallback>>&
        callbacks) {
  for (const auto& callback : callbacks) (*callback)();
}

bool IsFinal(FutureState state) {
  return state == FutureState::kFinished || state == FutureState::kCancelled;
}

}  // namespace

const char* FutureStateName(FutureState state) {
  switch (state) {
    case FutureState::kPending:
      return "PENDING";
    case FutureState::kRunning:
      return "RUNNING";
    case FutureState::kFinished:
      return "FINISHED";
    case FutureState::kCancelled:
      return "CANCELLED";
  }
  return "UNKNOWN";
}

// See kNoDeadline: the size that keeps a retained future within 512 bytes.
static_assert(sizeof(Future) <= 240);

Future::Future(std::string id, std::string function, std::string pool,
               absl::Time submit_time, absl::Time deadline)
    : id_(std::move(id)),
      function_(std::move(function)),
      pool_(std::move(pool)),
      submit_time_(absl::ToUnixNanos(submit_time)),
      deadline_(absl::ToUnixNanos(deadline)) {}

bool Future::Start(absl::Time now, int worker_pid) {
  std::vector<std::shared_ptr<const ChangeCallback>> changed;
  {
    absl::MutexLock lock(&mu_);
    if (state_ != FutureState::kPending || ClosedLocked()) return false;
    state_ = FutureState::kRunning;
    start_time_ = absl::ToUnixNanos(now);
    worker_pid_ = worker_pid;
    if (callbacks_) callbacks_->withdraw = nullptr;
    changed = ChangeCallbacksLocked();
  }
  RunChangeCallbacks(changed);
  return true;
}

bool Future::SetWithdraw(Withdraw withdraw, int worker_pid) {
  absl::MutexLock lock(&mu_);
  if (state_ != FutureState::kPending || ClosedLocked()) return false;
  Callbacks& callbacks = CallbacksLocked();
  callbacks.withdraw = std::move(withdraw);
  callbacks.withdraw_pid = worker_pid;
  return true;
}

std::vector<std::shared_ptr<const Future::ChangeCallback>>
Future::WithdrawOrStartLocked(absl::Time now) {
  if (state_ != FutureState::kPending || !callbacks_ || !callbacks_->withdraw) {
    return {};
  }
  const bool withdrawn = callbacks_->withdraw();
  callbacks_->withdraw = nullptr;
  if (withdrawn) return {};
  state_ = FutureState::kRunning;
  start_time_ = absl::ToUnixNanos(now);
  worker_pid_ = callbacks_->withdraw_pid;
  return ChangeCallbacksLocked();
}

bool Future::SetProgress(Progress progress) {
  std::vector<std::shared_ptr<const ChangeCallback>> changed;
  {
    absl::MutexLock lock(&mu_);
    if (state_ != FutureState::kRunning || ClosedLocked()) return false;
    if (progress_) {
      *progress_ = std::move(progress);
    } else {
      progress_ = std::make_unique<Progress>(std::move(progress));
    }
    changed = ChangeCallbacksLocked();
  }
  RunChangeCallbacks(changed);
  return true;
}

Future::CallbackId Future::AddChangeCallback(ChangeCallback callback) {
  absl::MutexLock lock(&mu_);
  if (ClosedLocked()) return 0;
  Callbacks& callbacks = CallbacksLocked();
  const CallbackId id = callbacks.next_id++;
  callbacks.change.emplace(
      id, std::make_shared<const ChangeCallback>(std::move(callback)));
  return id;
}

void Future::RemoveChangeCallback(CallbackId id) {
  absl::MutexLock lock(&mu_);
  if (callbacks_) callbacks_->change.erase(id);
}

std::vector<std::shared_ptr<const Future::ChangeCallback>>
Future::ChangeCallbacksLocked() const {
  std::vector<std::shared_ptr<const ChangeCallback>> callbacks;
  if (!callbacks_) return callbacks;
  callbacks.reserve(callbacks_->change.size());
  for (const auto& [id, callback] : callbacks_->change) {
    callbacks.push_back(callback);
  }
  return callbacks;
}

bool Future::Finish(Outcome outcome, absl::Time now) {
  Completion completion;
  std::vector<std::shared_ptr<const ChangeCallback>> changed;
  RetryHook retry;
  int next_attempt = 0;
  std::vector<AttemptError> earlier;
  {
    absl::MutexLock lock(&mu_);
    if (ClosedLocked()) return false;
    const bool cancelled = IsCancelled(outcome);
    if (cancelled && state_ == FutureState::kPending) return false;
    auto* error = std::get_if<TaskError>(&outcome);
    if (error != nullptr && RetryLocked(*error, now)) {
      changed = ChangeCallbacksLocked();
      retry = attempts_->hook;
      next_attempt = attempts_->number;
      earlier = attempts_->earlier;
    } else {
      completion = CompleteLocked(
          cancelled ? FutureState::kCancelled : FutureState::kFinished,
          std::move(outcome), now);
    }
  }
  if (retry) {
    RunChangeCallbacks(changed);
    retry(next_attempt, std::move(earlier));
    return true;
  }
  std::move(completion).Run();
  return true;
}

void Future::SetRetry(RetryPolicy policy, RetryHook hook, int attempt,
                      std::vector<AttemptError> earlier) {
  absl::MutexLock lock(&mu_);
  if (ClosedLocked()) return;
  attempts_ =
      std::make_unique<Attempts>(Attempts{.policy = std::move(policy),
                                          .hook = std::move(hook),
                                          .number = attempt,
                                          .earlier = std::move(earlier)});
}

bool Future::RetryLocked(TaskError& error, absl::Time now) {
  if (!attempts_ || !attempts_->hook || state_ != FutureState::kRunning ||
      attempts_->stop_requested || token_.IsCancelled() ||
      !attempts_->policy.Retries(error, attempts_->number)) {
    return false;
  }
  attempts_->earlier.push_back(AttemptError{.attempt = attempts_->number,
                                            .error = std::move(error),
                                            .start_time = StartTimeLocked(),
                                            .end_time = now,
                                            .worker_pid = worker_pid_});
  ++attempts_->number;
  state_ = FutureState::kPending;
  start_time_ = kUnsetTime;
  worker_pid_ = 0;
  progress_.reset();
  if (callbacks_) callbacks_->withdraw = nullptr;
  return true;
}

bool Future::FailAndStop(TaskError error, absl::Time now) {
  Completion completion;
  {
    absl::MutexLock lock(&mu_);
    if (ClosedLocked()) return false;
    // Whoever hears of the failure needs no change-callback of a start.
    WithdrawOrStartLocked(now);
    completion = CompleteLocked(FutureState::kFinished, std::move(error), now);
  }
  // Outside the lock, as the token runs its cancel callbacks.
  token_.Cancel();
  std::move(completion).Run();
  return true;
}

CancelAction Future::Cancel(absl::Time now) {
  return CancelUnlessLeftRunning(now, /*leave_running=*/false);
}

CancelAction Future::CancelIfPending(absl::Time now) {
  return CancelUnlessLeftRunning(now, /*leave_running=*/true);
}

CancelAction Future::CancelByOwner(absl::Time now, bool only_if_pending) {
  {
    absl::MutexLock lock(&mu_);
    cancelled_by_owner_ = true;
  }
  return CancelUnlessLeftRunning(now, only_if_pending);
}

bool Future::CancelledByOwner() const {
  absl::MutexLock lock(&mu_);
  return cancelled_by_owner_;
}

std::optional<FutureState> Future::HeldEnd() const {
  absl::MutexLock lock(&mu_);
  if (held_end_ == FutureState::kPending) return std::nullopt;
  return held_end_;
}

CancelAction Future::CancelUnlessLeftRunning(absl::Time now,
                                             bool leave_running) {
  Completion completion;
  std::vector<std::shared_ptr<const ChangeCallback>> started;
  CancelAction action = CancelAction::kStopRequested;
  {
    absl::MutexLock lock(&mu_);
    if (ClosedLocked()) return CancelAction::kAlreadyDone;
    started = WithdrawOrStartLocked(now);
    if (state_ == FutureState::kRunning && leave_running) {
      action = CancelAction::kLeftRunning;
    } else if (state_ == FutureState::kRunning && attempts_) {
      // Whatever the attempt raises now, it is the last.
      attempts_->stop_requested = true;
    } else if (state_ == FutureState::kPending) {
      action = CancelAction::kCancelledPending;
      completion = CompleteLocked(FutureState::kCancelled, Cancelled{}, now);
    }
  }
  RunChangeCallbacks(started);
  if (action == CancelAction::kLeftRunning) return action;
  // Outside the lock, as the token runs its cancel callbacks. A pending
  // future's token is cancelled too, for whoever holds it in a queue.
  token_.Cancel();
  std::move(completion).Run();
  return action;
}

Future::Completion Future::CompleteLocked(FutureState state, Outcome outcome,
                                          absl::Time now) {
  if (auto* value = std::get_if<google::protobuf::Value>(&outcome)) {
    value_ = std::move(*value);
  } else if (auto* error = std::get_if<TaskError>(&outcome)) {
    error_ = std::make_unique<TaskError>(std::move(*error));
  }
  end_time_ = absl::ToUnixNanos(now);
  if (attempts_) attempts_->hook = nullptr;
  Completion completion;
  if (callbacks_ && callbacks_->end_hook) {
    // Held back: the callbacks stay (and may still be added) until Publish().
    held_end_ = state;
    completion.hook = std::move(callbacks_->end_hook);
    completion.state = state;
    completion.ending = FutureEnding{.outcome = OutcomeLocked(),
                                     .start_time = StartTimeLocked(),
                                     .end_time = now};
    return completion;
  }
  state_ = state;
  // Nothing changes any more, and no callback is added after this.
  std::unique_ptr<Callbacks> callbacks = std::move(callbacks_);
  if (callbacks) completion.callbacks = std::move(callbacks->done);
  return completion;
}

void Future::Completion::Run() && {
  if (hook) {
    std::move(hook)(state, *std::move(ending));
  } else {
    RunCallbacks(std::move(callbacks));
  }
}

bool Future::ClosedLocked() const {
  return IsFinal(state_) || held_end_ != FutureState::kPending;
}

FutureState Future::FinalStateLocked() const {
  return held_end_ != FutureState::kPending ? held_end_ : state_;
}

void Future::SetEndHook(EndHook hook) {
  absl::MutexLock lock(&mu_);
  if (!ClosedLocked()) CallbacksLocked().end_hook = std::move(hook);
}

bool Future::HasEndHook() const {
  absl::MutexLock lock(&mu_);
  return callbacks_ && callbacks_->end_hook;
}

void Future::Publish() {
  std::map<CallbackId, Callback> callbacks;
  {
    absl::MutexLock lock(&mu_);
    if (held_end_ == FutureState::kPending) return;
    state_ = std::exchange(held_end_, FutureState::kPending);
    std::unique_ptr<Callbacks> held = std::move(callbacks_);
    if (held) callbacks = std::move(held->done);
  }
  RunCallbacks(std::move(callbacks));
}

void Future::PublishInstead(FutureState state, FutureEnding ending,
                            int worker_pid) {
  {
    absl::MutexLock lock(&mu_);
    if (held_end_ == FutureState::kPending) return;
    held_end_ = state;
    value_ = google::protobuf::Value();
    error_.reset();
    if (auto* value = std::get_if<google::protobuf::Value>(&ending.outcome)) {
      value_ = std::move(*value);
    } else if (auto* error = std::get_if<TaskError>(&ending.outcome)) {
      error_ = std::make_unique<TaskError>(std::move(*error));
    }
    start_time_ =
        ending.start_time ? absl::ToUnixNanos(*ending.start_time) : kUnsetTime;
    end_time_ = absl::ToUnixNanos(ending.end_time);
    worker_pid_ = worker_pid;
  }
  Publish();
}

Outcome Future::OutcomeLocked() const {
  if (FinalStateLocked() == FutureState::kCancelled) return Cancelled{};
  if (error_) return *error_;
  return value_;
}

Future::Callbacks& Future::CallbacksLocked() {
  if (!callbacks_) callbacks_ = std::make_unique<Callbacks>();
  return *callbacks_;
}

Future::CallbackId Future::AddDoneCallback(Callback callback) {
  {
    absl::MutexLock lock(&mu_);
    if (!IsFinal(state_)) {
      Callbacks& callbacks = CallbacksLocked();
      const CallbackId id = callbacks.next_id++;
      callbacks.done.emplace(id, std::move(callback));
      return id;
    }
  }
  std::move(callback)();
  return 0;
}

void Future::RemoveDoneCallback(CallbackId id) {
  absl::MutexLock lock(&mu_);
  if (callbacks_) callbacks_->done.erase(id);
}

FutureState Future::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

bool Future::done() const { return IsFinal(state()); }

bool Future::Raised() const {
  absl::MutexLock lock(&mu_);
  return state_ == FutureState::kFinished && error_ != nullptr;
}

std::optional<absl::Duration> Future::RunTime() const {
  absl::MutexLock lock(&mu_);
  if (start_time_ == kUnsetTime || !IsFinal(state_)) return std::nullopt;
  return absl::Nanoseconds(end_time_ - start_time_);
}

std::optional<absl::Time> Future::end_time() const {
  absl::MutexLock lock(&mu_);
  if (!IsFinal(state_)) return std::nullopt;
  return absl::FromUnixNanos(end_time_);
}

std::optional<absl::Time> Future::StartTimeLocked() const {
  if (start_time_ == kUnsetTime) return std::nullopt;
  return absl::FromUnixNanos(start_time_);
}

std::optional<FutureEnding> Future::Ending() const {
  absl::MutexLock lock(&mu_);
  if (!IsFinal(state_)) return std::nullopt;
  return FutureEnding{.outcome = OutcomeLocked(),
                      .start_time = StartTimeLocked(),
                      .end_time = absl::FromUnixNanos(end_time_)};
}

FutureSnapshot Future::Snapshot() const {
  absl::MutexLock lock(&mu_);
  const bool done = IsFinal(state_);
  return FutureSnapshot{
      .id = id_,
      .function = function_,
      .pool = pool_,
      .state = state_,
      .outcome = done ? std::optional<Outcome>(OutcomeLocked()) : std::nullopt,
      .submit_time = absl::FromUnixNanos(submit_time_),
      .start_time = StartTimeLocked(),
      .end_time =
          done ? std::optional(absl::FromUnixNanos(end_time_)) : std::nullopt,
      .deadline = deadline(),
      .worker_pid = worker_pid_,
      .progress =
          progress_ ? std::optional<Progress>(*progress_) : std::nullopt,
      .attempt = attempts_ ? attempts_->number : 1,
      .max_attempts = attempts_ ? attempts_->policy.max_attempts : 1,
      .earlier_attempts =
          attempts_ ? attempts_->earlier : std::vector<AttemptError>()};
}

}  // namespace futured::server
