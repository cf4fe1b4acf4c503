// Bounded polling for tests: a test waits for what it can observe, and the
// limit only ends a test that would otherwise hang (it decides no result).
#ifndef FUTURED_TESTS_POLL_UNTIL_H_
#define FUTURED_TESTS_POLL_UNTIL_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace futured::testing {

// Calls `condition` every `interval` until it holds (true) or `limit` has
// passed (false). Blocks the calling thread.
template <typename Condition>
bool PollUntil(Condition condition, absl::Duration limit = absl::Seconds(30),
               absl::Duration interval = absl::Milliseconds(20)) {
  const absl::Time give_up = absl::Now() + limit;
  while (!condition()) {
    if (absl::Now() > give_up) return false;
    absl::SleepFor(interval);
  }
  return true;
}

}  // namespace futured::testing

#endif  // FUTURED_TESTS_POLL_UNTIL_H_
