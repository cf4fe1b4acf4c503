#include "server/worker/worker_progress.h"

#include <utility>

namespace futured::server {

WorkerProgress::WorkerProgress(absl::Duration interval, Send send)
    : interval_(interval), send_(std::move(send)) {
  thread_ = std::thread(&WorkerProgress::Loop, this);
}

WorkerProgress::~WorkerProgress() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void WorkerProgress::BeginTask(uint64_t task_id) {
  absl::MutexLock lock(&mu_);
  task_id_ = task_id;
  pending_.reset();
}

void WorkerProgress::EndTask() {
  absl::MutexLock lock(&mu_);
  task_id_ = 0;
  pending_.reset();
  mu_.Await(absl::Condition(this, &WorkerProgress::NotSending));
}

void WorkerProgress::Report(double fraction, absl::string_view message) {
  // Made safe before the lock: the message is cut and made valid UTF-8.
  Progress progress = MakeProgress(fraction, message, absl::Now());
  absl::MutexLock lock(&mu_);
  if (task_id_ == 0) return;
  internal::TaskProgress& pending = pending_.emplace();
  pending.set_task_id(task_id_);
  pending.set_fraction(progress.fraction);
  pending.set_message(std::move(progress.message));
}

void WorkerProgress::Loop() {
  mu_.Lock();
  while (true) {
    mu_.Await(absl::Condition(this, &WorkerProgress::HasWork));
    if (stop_) break;
    const absl::Time next = last_sent_ + interval_;
    if (absl::Now() < next) {
      // Wait out the interval unless the report is dropped meanwhile.
      mu_.AwaitWithDeadline(
          absl::Condition(this, &WorkerProgress::NothingToWaitFor), next);
      continue;
    }
    internal::TaskProgress progress = *std::move(pending_);
    pending_.reset();
    sending_ = true;
    mu_.Unlock();  // send_ may block on the socket; reports go on meanwhile
    send_(progress);
    mu_.Lock();
    sending_ = false;
    last_sent_ = absl::Now();
  }
  mu_.Unlock();
}

}  // namespace futured::server
