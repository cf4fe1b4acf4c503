// One thread that runs callbacks at given times.
#ifndef FUTURED_SERVER_ENGINE_TIMER_QUEUE_H_
#define FUTURED_SERVER_ENGINE_TIMER_QUEUE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace futured::server {

// Schedules callbacks for Result/Wait timeouts, Submit deadlines and the
// retention sweep without holding a thread per wait. Thread-safe. Callbacks
// run on the queue's own thread, in time order, with no lock held; they must
// be quick and must not block. A callback may Schedule() or Cancel(), but
// must not destroy the queue.
class TimerQueue {
 public:
  using TimerId = uint64_t;  // never 0
  using Callback = absl::AnyInvocable<void() &&>;

  TimerQueue();   // starts the thread
  ~TimerQueue();  // stops and joins it; callbacks not yet run are dropped
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Runs `callback` at `when` (at once if `when` has passed).
  TimerId Schedule(absl::Time when, Callback callback) ABSL_LOCKS_EXCLUDED(mu_);

  // Removes a timer that has not started running. True if removed; false if
  // it ran, is running, or never existed.
  bool Cancel(TimerId id) ABSL_LOCKS_EXCLUDED(mu_);

  // Timers scheduled and not yet run or cancelled.
  int64_t pending() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // Timers sort by time, then by ID, so equal times run in schedule order.
  using Key = std::pair<absl::Time, TimerId>;

  // The thread's loop: runs due callbacks until the queue stops.
  void Run() ABSL_LOCKS_EXCLUDED(mu_);

  // Blocks until the earliest timer is due and removes it; nullopt once the
  // queue stops.
  std::optional<Callback> TakeNextDue() ABSL_LOCKS_EXCLUDED(mu_);

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  TimerId next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<Key, Callback> timers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<TimerId, absl::Time> when_by_id_ ABSL_GUARDED_BY(mu_);

  std::thread thread_;  // started last, in the constructor
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_ENGINE_TIMER_QUEUE_H_
