// Whether abseil's Mutex deadlock detector runs in futured's programs.
#ifndef FUTURED_COMMON_MUTEX_DEADLOCK_DETECTION_H_
#define FUTURED_COMMON_MUTEX_DEADLOCK_DETECTION_H_

namespace futured {

// Debian's abseil is built with its Mutex deadlock detector on: every lock
// and every Mutex destruction (two per future) then goes through one global
// graph under one global lock. A release build (NDEBUG) turns it off; a debug
// build keeps it, for the tests. Call at the start of main(), before any
// thread starts.
void ConfigureMutexDeadlockDetection();

}  // namespace futured

#endif  // FUTURED_COMMON_MUTEX_DEADLOCK_DETECTION_H_
