// The task slots a process-pool worker shares with the daemon: one atomic
// word per task handed to the worker, through which the two agree, without
// a message, on whether the task starts or is withdrawn.
#ifndef FUTURED_SERVER_TASK_SLOTS_H_
#define FUTURED_SERVER_TASK_SLOTS_H_

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"

namespace futured::server {

// The descriptor a worker process finds the daemon's task slots on.
inline constexpr int kWorkerSlotsFd = 4;

// One page of shared memory (a memfd, mapped by the daemon and by one
// worker), holding kCount slots. The daemon queues a task in a slot before
// it sends it; the worker claims the slot before it runs the task and
// completes it after; the daemon can withdraw a slot still queued (the task
// never runs) and ask a started one to stop (the worker starts nothing more).
// Each change is one compare-and-swap, so the two sides never both win:
//
//   kQueued  -> kStarted    Claim()    (worker)
//   kQueued  -> kWithdrawn  Withdraw() (daemon)
//   kStarted -> kDone       Complete() (worker)
//   kStarted -> kStopping   RequestStop() (daemon)
//
// A slot is reused (Queue()) only once the worker has answered its task.
// The worker is not trusted: the daemon reads any value it does not expect
// as "started". Thread-safe: every method is one atomic operation, and the
// daemon's may be called from any thread.
class TaskSlots {
 public:
  enum State : uint32_t {
    kFree = 0,
    kQueued = 1,
    kStarted = 2,
    kWithdrawn = 3,
    kDone = 4,
    kStopping = 5,
  };
  static constexpr uint32_t kCount = 1024;

  // A new, zeroed memfd mapped here; the daemon's side. Its fd() is what a
  // worker is given.
  static absl::StatusOr<std::shared_ptr<TaskSlots>> Create();
  // Maps the slots the daemon created, from `fd` (which it takes over); the
  // worker's side.
  static absl::StatusOr<std::shared_ptr<TaskSlots>> Attach(int fd);

  ~TaskSlots();  // unmaps, closes the descriptor
  TaskSlots(const TaskSlots&) = delete;
  TaskSlots& operator=(const TaskSlots&) = delete;

  int fd() const { return fd_; }

  // Daemon: `slot` holds a task about to be sent.
  void Queue(uint32_t slot) { Word(slot).store(kQueued); }
  // Daemon: kQueued -> kWithdrawn. True if the task will never start.
  bool Withdraw(uint32_t slot) { return Swap(slot, kQueued, kWithdrawn); }
  // Daemon: kStarted -> kStopping. True if the task was running and the
  // worker will start nothing after it; false if it had ended (or never
  // started).
  bool RequestStop(uint32_t slot) { return Swap(slot, kStarted, kStopping); }
  // Worker: kQueued -> kStarted. False if withdrawn: skip the task.
  bool Claim(uint32_t slot) { return Swap(slot, kQueued, kStarted); }
  // Worker: kStarted -> kDone. False if the daemon asked it to stop: answer
  // this task, start no other and exit.
  bool Complete(uint32_t slot) { return Swap(slot, kStarted, kDone); }

  uint32_t Load(uint32_t slot) { return Word(slot).load(); }

 private:
  TaskSlots(int fd, uint32_t* words) : fd_(fd), words_(words) {}
  std::atomic_ref<uint32_t> Word(uint32_t slot) {
    return std::atomic_ref<uint32_t>(words_[slot % kCount]);
  }
  bool Swap(uint32_t slot, uint32_t from, uint32_t to) {
    return Word(slot).compare_exchange_strong(from, to);
  }

  const int fd_;
  uint32_t* const words_;  // kCount words, mapped shared
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASK_SLOTS_H_
