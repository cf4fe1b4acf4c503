// A worker process's progress reports on their way to the daemon.
#ifndef FUTURED_SERVER_WORKER_WORKER_PROGRESS_H_
#define FUTURED_SERVER_WORKER_WORKER_PROGRESS_H_

#include <cstdint>
#include <optional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "futured/internal/worker.pb.h"
#include "server/task/progress.h"

namespace futured::server {

// The ProgressSink of the task a worker runs. Report() only records the
// latest report; a thread of its own sends it with `send`, at most one every
// `interval`, so that a task reporting in a tight loop neither floods the
// daemon nor ever blocks on the socket. The last report before a quiet spell
// is sent once the interval has passed, so the daemon always learns the
// latest.
//
// Thread-safe: the task's thread calls Report(); the worker's main thread
// calls BeginTask() and EndTask() around each task. `send` runs on the
// sending thread, never concurrently with itself.
class WorkerProgress final : public ProgressSink {
 public:
  using Send = absl::AnyInvocable<void(const internal::TaskProgress&)>;

  WorkerProgress(absl::Duration interval, Send send);
  ~WorkerProgress() override;  // stops and joins the sending thread
  WorkerProgress(const WorkerProgress&) = delete;
  WorkerProgress& operator=(const WorkerProgress&) = delete;

  // Reports from now on belong to task `task_id`.
  void BeginTask(uint64_t task_id) ABSL_LOCKS_EXCLUDED(mu_);
  // Drops any unsent report and waits for one being sent, so that nothing
  // of this task is sent after its result. Reports until the next
  // BeginTask() are dropped.
  void EndTask() ABSL_LOCKS_EXCLUDED(mu_);

  void Report(double fraction, absl::string_view message) override
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_ || pending_.has_value();
  }
  bool NothingToWaitFor() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_ || !pending_.has_value();
  }
  bool NotSending() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !sending_;
  }

  // Constant after construction.
  const absl::Duration interval_;

  absl::Mutex mu_;
  uint64_t task_id_ ABSL_GUARDED_BY(mu_) = 0;  // 0: no task
  std::optional<internal::TaskProgress> pending_ ABSL_GUARDED_BY(mu_);
  bool sending_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_sent_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool stop_ ABSL_GUARDED_BY(mu_) = false;

  Send send_;  // used by the sending thread only
  std::thread thread_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_WORKER_WORKER_PROGRESS_H_
