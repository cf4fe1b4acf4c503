// One thread that runs callbacks at given times.
#ifndef FUTURED_SERVER_TIMER_QUEUE_H_
#define FUTURED_SERVER_TIMER_QUEUE_H_

#include <cstdint>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"

namespace futured {

// Schedules callbacks for Result/Wait timeouts, Submit deadlines and the
// retention sweep without holding a thread per wait. Thread-safe. Callbacks
// run on the queue's own thread, in time order, with no lock held; they must
// be quick and must not block. A callback may Schedule() or Cancel().
class TimerQueue {
 public:
  using TimerId = uint64_t;  // never 0

  TimerQueue();   // starts the thread
  ~TimerQueue();  // stops and joins it; callbacks not yet run are dropped
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  // Runs `callback` at `when` (at once if `when` has passed).
  TimerId Schedule(absl::Time when, absl::AnyInvocable<void() &&> callback);

  // Removes a timer that has not started running. True if removed; false if
  // it ran, is running, or never existed.
  bool Cancel(TimerId id);

  // Timers scheduled and not yet run or cancelled.
  int64_t pending() const;

 private:
  // (private members are the implementer's choice)
};

}  // namespace futured

#endif  // FUTURED_SERVER_TIMER_QUEUE_H_
