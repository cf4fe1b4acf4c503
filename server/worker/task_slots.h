// The task slots a process-pool worker shares with the daemon: one per task
// handed to the worker, through which the two agree, without a message, on
// whether the task starts or is withdrawn, and where the worker leaves the
// task's start and end times and (when small) its result.
#ifndef FUTURED_SERVER_WORKER_TASK_SLOTS_H_
#define FUTURED_SERVER_WORKER_TASK_SLOTS_H_

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace futured::server {

// The descriptor a worker process finds the daemon's task slots on.
inline constexpr int kWorkerSlotsFd = 4;

// Shared memory (a memfd, mapped by the daemon and by one worker), holding
// kCount slots. The daemon queues a task in a slot before it sends it; the
// worker claims the slot before it runs the task and completes it after,
// having stored its result there (or sent it on the socket); the daemon can
// withdraw a slot still queued (the task never runs) and ask a started one
// to stop (the worker starts nothing more). A result in the slot outlives
// the worker: the daemon owns the memory too. Each change of state is one
// compare-and-swap, so the two sides never both win:
//
//   kQueued  -> kStarted    Claim()    (worker)
//   kQueued  -> kWithdrawn  Withdraw() (daemon)
//   kStarted -> kDone       Complete() (worker)
//   kStarted -> kStopping   RequestStop() (daemon)
//
// The start time is stored before the claim and the result before the
// completion, so whoever sees the state sees them. A slot is reused
// (Queue()) only once the daemon has settled its task. The worker is not
// trusted: the daemon copies a result out before it parses it and treats a
// state it does not expect as a protocol error.
//
// Beside the slots, one word names the process group of the command the
// worker's task runs (exec), so that the daemon can kill that group if the
// worker dies before it has (server/adopted_children.h). Thread-safe: the
// state changes and that word are atomic and may come from any thread; the
// rest is used by one thread on each side.
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
  static constexpr uint32_t kCount = 512;
  // The largest result a slot holds (an encoded internal::TaskResult).
  static constexpr uint32_t kResultBytes = 232;

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

  // Worker: the process group of the command its task has started, or 0
  // once that group has been sent SIGKILL (before its leader is reaped).
  void SetCommandGroup(pid_t group) { GroupWord().store(group); }
  // Daemon: the group the worker last set. Untrusted: any number.
  pid_t CommandGroup() { return GroupWord().load(); }

  // Worker, before Claim(): when the task starts.
  void SetStart(uint32_t slot, int64_t unix_nanos);
  // Worker, before Complete(): the encoded result and when the task ended.
  // False (and nothing stored) if it is larger than kResultBytes.
  bool SetResult(uint32_t slot, absl::string_view result, int64_t end_nanos);
  // Worker, before Complete(): the result went on the socket instead.
  void SetResultSent(uint32_t slot);

  // Daemon, once the state says so: the start time; the end time and a copy
  // of the result stored, or nullopt if the result went on the socket.
  int64_t StartNanos(uint32_t slot);
  int64_t EndNanos(uint32_t slot);
  std::optional<std::string> Result(uint32_t slot);

 private:
  // One slot as laid out in the shared memory: 256 bytes.
  struct Slot {
    uint32_t state;
    uint32_t result_bytes;  // kSentBytes: on the socket
    int64_t start_nanos;
    int64_t end_nanos;
    char result[kResultBytes];
  };
  static constexpr uint32_t kSentBytes = ~uint32_t{0};
  // The slots, then the command group.
  static constexpr size_t kMappedBytes = kCount * sizeof(Slot) + sizeof(pid_t);

  TaskSlots(int fd, Slot* slots) : fd_(fd), slots_(slots) {}
  Slot& At(uint32_t slot) { return slots_[slot % kCount]; }
  std::atomic_ref<uint32_t> Word(uint32_t slot) {
    return std::atomic_ref<uint32_t>(At(slot).state);
  }
  std::atomic_ref<pid_t> GroupWord() {
    return std::atomic_ref<pid_t>(*reinterpret_cast<pid_t*>(slots_ + kCount));
  }
  bool Swap(uint32_t slot, uint32_t from, uint32_t to) {
    return Word(slot).compare_exchange_strong(from, to);
  }

  const int fd_;
  Slot* const slots_;  // kCount of them, mapped shared
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_WORKER_TASK_SLOTS_H_
