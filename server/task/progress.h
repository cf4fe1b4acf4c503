// A running task's progress: how far it is (a fraction) and what it is
// doing (a short message), and where tasks report it.
#ifndef FUTURED_SERVER_TASK_PROGRESS_H_
#define FUTURED_SERVER_TASK_PROGRESS_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace futured::server {

// The longest progress message kept, in bytes; longer ones are cut.
inline constexpr size_t kMaxProgressMessageBytes = 256;

// The latest progress a task reported. A plain value.
struct Progress {
  double fraction = 0;  // in [0, 1]
  std::string message;  // valid UTF-8, at most kMaxProgressMessageBytes
  absl::Time update_time;
};

// What a task reported, made safe to keep and send: the fraction clamped to
// [0, 1] (NaN is 0), the message made valid UTF-8 and cut to
// kMaxProgressMessageBytes on a character boundary.
Progress MakeProgress(double fraction, absl::string_view message,
                      absl::Time now);

// Where a task's progress reports go: the future itself in a thread pool, a
// coalescing sender to the daemon in a worker process. Implementations are
// called on the task's thread, must not block for long, and must be cheap
// enough for a task that reports in a tight loop.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void Report(double fraction, absl::string_view message) = 0;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASK_PROGRESS_H_
