// Batches handed from one producer thread to one consumer thread.
#ifndef FUTURED_SERVER_STORE_BATCH_HANDOFF_H_
#define FUTURED_SERVER_STORE_BATCH_HANDOFF_H_

#include <cstddef>
#include <deque>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace futured::server {

// A bounded queue of batches between a producer and a consumer, so that
// the two work at once (SqliteJournal::Recover() reads rows on one thread
// while its caller builds futures from them on another). The producer
// blocks while `depth` batches wait. Thread-safe.
template <typename T>
class BatchHandoff {
 public:
  explicit BatchHandoff(size_t depth) : depth_(depth) {}

  // Producer: queues `batch`, waiting for room.
  void Push(std::vector<T> batch) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &BatchHandoff::HasRoom));
    batches_.push_back(std::move(batch));
  }

  // Producer: no more batches; `status` is how it ended.
  void Close(absl::Status status) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    status_ = std::move(status);
    closed_ = true;
  }

  // Consumer: the next batch, waiting for one; unset once closed and empty
  // (then status() says how the producer ended).
  std::optional<std::vector<T>> Pop() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &BatchHandoff::HasBatchOrClosed));
    if (batches_.empty()) return std::nullopt;
    std::vector<T> batch = std::move(batches_.front());
    batches_.pop_front();
    return batch;
  }

  absl::Status status() const ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return status_;
  }

 private:
  bool HasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return batches_.size() < depth_;
  }
  bool HasBatchOrClosed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || !batches_.empty();
  }

  const size_t depth_;
  mutable absl::Mutex mu_;
  std::deque<std::vector<T>> batches_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_STORE_BATCH_HANDOFF_H_
