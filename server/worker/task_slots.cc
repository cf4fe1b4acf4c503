#include "server/worker/task_slots.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"

namespace futured::server {
namespace {

static_assert(std::atomic_ref<uint32_t>::is_always_lock_free &&
                  std::atomic_ref<int64_t>::is_always_lock_free &&
                  std::atomic_ref<pid_t>::is_always_lock_free,
              "shared-memory slots need lock-free atomics");

// Maps `fd`'s `bytes` shared; closes `fd` on failure.
absl::StatusOr<void*> Map(int fd, size_t bytes) {
  void* memory =
      mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (memory == MAP_FAILED) {
    absl::Status error = absl::ErrnoToStatus(errno, "mmap of the task slots");
    close(fd);
    return error;
  }
  return memory;
}

}  // namespace

absl::StatusOr<std::shared_ptr<TaskSlots>> TaskSlots::Create() {
  const int low_fd = memfd_create("futured-task-slots", MFD_CLOEXEC);
  if (low_fd < 0) return absl::ErrnoToStatus(errno, "memfd_create");
  // Above the descriptors a worker is given (its socket on 3, the slots on
  // 4), so that handing one over in posix_spawn never overwrites the other.
  const int fd = fcntl(low_fd, F_DUPFD_CLOEXEC, kWorkerSlotsFd + 1);
  close(low_fd);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno,
                               "fcntl(F_DUPFD_CLOEXEC) of the task slots");
  }
  if (ftruncate(fd, kMappedBytes) != 0) {
    absl::Status error =
        absl::ErrnoToStatus(errno, "ftruncate of the task slots");
    close(fd);
    return error;
  }
  absl::StatusOr<void*> memory = Map(fd, kMappedBytes);
  if (!memory.ok()) return memory.status();
  return std::shared_ptr<TaskSlots>(
      new TaskSlots(fd, static_cast<Slot*>(*memory)));
}

absl::StatusOr<std::shared_ptr<TaskSlots>> TaskSlots::Attach(int fd) {
  if (lseek(fd, 0, SEEK_END) < static_cast<off_t>(kMappedBytes)) {
    close(fd);
    return absl::InvalidArgumentError("the task slots are too small");
  }
  absl::StatusOr<void*> memory = Map(fd, kMappedBytes);
  if (!memory.ok()) return memory.status();
  return std::shared_ptr<TaskSlots>(
      new TaskSlots(fd, static_cast<Slot*>(*memory)));
}

TaskSlots::~TaskSlots() {
  munmap(slots_, kMappedBytes);
  close(fd_);
}

void TaskSlots::SetStart(uint32_t slot, int64_t unix_nanos) {
  std::atomic_ref<int64_t>(At(slot).start_nanos)
      .store(unix_nanos, std::memory_order_relaxed);
}

bool TaskSlots::SetResult(uint32_t slot, absl::string_view result,
                          int64_t end_nanos) {
  if (result.size() > kResultBytes) return false;
  Slot& s = At(slot);
  std::memcpy(s.result, result.data(), result.size());
  std::atomic_ref<uint32_t>(s.result_bytes)
      .store(static_cast<uint32_t>(result.size()), std::memory_order_relaxed);
  std::atomic_ref<int64_t>(s.end_nanos)
      .store(end_nanos, std::memory_order_relaxed);
  return true;
}

void TaskSlots::SetResultSent(uint32_t slot) {
  std::atomic_ref<uint32_t>(At(slot).result_bytes)
      .store(kSentBytes, std::memory_order_relaxed);
}

int64_t TaskSlots::StartNanos(uint32_t slot) {
  return std::atomic_ref<int64_t>(At(slot).start_nanos)
      .load(std::memory_order_relaxed);
}

int64_t TaskSlots::EndNanos(uint32_t slot) {
  return std::atomic_ref<int64_t>(At(slot).end_nanos)
      .load(std::memory_order_relaxed);
}

std::optional<std::string> TaskSlots::Result(uint32_t slot) {
  Slot& s = At(slot);
  const uint32_t bytes =
      std::atomic_ref<uint32_t>(s.result_bytes).load(std::memory_order_relaxed);
  if (bytes == kSentBytes) return std::nullopt;
  // A copy, so that a worker writing on cannot change what is parsed; a
  // length it made up is cut to the slot.
  return std::string(s.result, std::min(bytes, kResultBytes));
}

}  // namespace futured::server
