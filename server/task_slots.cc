#include "server/task_slots.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace futured::server {
namespace {

constexpr size_t kBytes = TaskSlots::kCount * sizeof(uint32_t);

static_assert(std::atomic_ref<uint32_t>::is_always_lock_free,
              "shared-memory slots need lock-free atomics");

absl::Status ErrnoError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

// Maps `fd`'s kBytes shared; closes `fd` on failure.
absl::StatusOr<uint32_t*> Map(int fd) {
  void* words =
      mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (words == MAP_FAILED) {
    absl::Status error = ErrnoError("mmap of the task slots");
    close(fd);
    return error;
  }
  return static_cast<uint32_t*>(words);
}

}  // namespace

absl::StatusOr<std::shared_ptr<TaskSlots>> TaskSlots::Create() {
  const int fd = memfd_create("futured-task-slots", MFD_CLOEXEC);
  if (fd < 0) return ErrnoError("memfd_create");
  if (ftruncate(fd, kBytes) != 0) {
    absl::Status error = ErrnoError("ftruncate of the task slots");
    close(fd);
    return error;
  }
  absl::StatusOr<uint32_t*> words = Map(fd);
  if (!words.ok()) return words.status();
  return std::shared_ptr<TaskSlots>(new TaskSlots(fd, *words));
}

absl::StatusOr<std::shared_ptr<TaskSlots>> TaskSlots::Attach(int fd) {
  if (lseek(fd, 0, SEEK_END) < static_cast<off_t>(kBytes)) {
    close(fd);
    return absl::InvalidArgumentError("the task slots are too small");
  }
  absl::StatusOr<uint32_t*> words = Map(fd);
  if (!words.ok()) return words.status();
  return std::shared_ptr<TaskSlots>(new TaskSlots(fd, *words));
}

TaskSlots::~TaskSlots() {
  munmap(words_, kBytes);
  close(fd_);
}

}  // namespace futured::server
