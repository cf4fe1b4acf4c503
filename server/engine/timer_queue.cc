#include "server/engine/timer_queue.h"

#include <utility>

namespace futured::server {

TimerQueue::TimerQueue() : thread_(&TimerQueue::Run, this) {}

TimerQueue::~TimerQueue() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

TimerQueue::TimerId TimerQueue::Schedule(absl::Time when, Callback callback) {
  absl::MutexLock lock(&mu_);
  const TimerId id = next_id_++;
  timers_.emplace(Key(when, id), std::move(callback));
  when_by_id_.emplace(id, when);
  return id;
}

bool TimerQueue::Cancel(TimerId id) {
  Callback callback;  // destroyed after the lock is released
  {
    absl::MutexLock lock(&mu_);
    auto it = when_by_id_.find(id);
    if (it == when_by_id_.end()) return false;
    auto timer = timers_.find(Key(it->second, id));
    callback = std::move(timer->second);
    timers_.erase(timer);
    when_by_id_.erase(it);
  }
  return true;
}

int64_t TimerQueue::pending() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(timers_.size());
}

void TimerQueue::Run() {
  while (std::optional<Callback> callback = TakeNextDue()) {
    std::move (*callback)();
  }
}

std::optional<TimerQueue::Callback> TimerQueue::TakeNextDue() {
  absl::MutexLock lock(&mu_);
  while (!stopping_) {
    if (timers_.empty()) {
      auto has_timer_or_stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !timers_.empty();
      };
      mu_.Await(absl::Condition(&has_timer_or_stopping));
      continue;
    }
    auto first = timers_.begin();
    const absl::Time when = first->first.first;
    if (when <= absl::Now()) {
      Callback callback = std::move(first->second);
      when_by_id_.erase(first->first.second);
      timers_.erase(first);
      return callback;
    }
    // Wakes early for an earlier timer, a cancelled first timer or a stop.
    auto first_changed_or_stopping =
        [this, key = first->first]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
          return stopping_ || timers_.empty() || timers_.begin()->first != key;
        };
    mu_.AwaitWithDeadline(absl::Condition(&first_changed_or_stopping), when);
  }
  return std::nullopt;
}

}  // namespace futured::server
