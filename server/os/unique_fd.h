// A file descriptor that closes itself.
#ifndef FUTURED_SERVER_OS_UNIQUE_FD_H_
#define FUTURED_SERVER_OS_UNIQUE_FD_H_

#include <unistd.h>

#include <utility>

namespace futured::server {

// Owns one descriptor (or none: -1) and closes it when destroyed, reset or
// moved onto. Move-only; used by one thread at a time.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Close(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Close();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }

  int get() const { return fd_; }
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_OS_UNIQUE_FD_H_
