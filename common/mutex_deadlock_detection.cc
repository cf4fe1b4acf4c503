#include "common/mutex_deadlock_detection.h"

#include "absl/synchronization/mutex.h"

namespace futured {

void ConfigureMutexDeadlockDetection() {
#ifdef NDEBUG
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
}

}  // namespace futured
