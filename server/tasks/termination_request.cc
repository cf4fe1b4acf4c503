#include "server/tasks/termination_request.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>

#include "absl/status/status.h"

namespace futured::server {
namespace {

// Lock-free atomics: safe to touch from a signal handler.
std::atomic<int> request_fd{-1};
std::atomic<bool> requested{false};
std::atomic<int> deferrals{0};

void DieBySigterm() {
  signal(SIGTERM, SIG_DFL);
  raise(SIGTERM);
}

void OnSigterm(int) {
  const int saved_errno = errno;
  requested.store(true);
  if (deferrals.load() == 0) DieBySigterm();
  const uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(request_fd.load(), &one, sizeof(one));
  errno = saved_errno;
}

}  // namespace

absl::Status InstallTerminationRequestHandler() {
  const int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, "eventfd");
  }
  request_fd.store(fd);
  struct sigaction action {};
  action.sa_handler = OnSigterm;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: poll() returns EINTR at once
  if (sigaction(SIGTERM, &action, nullptr) != 0) {
    return absl::ErrnoToStatus(errno, "sigaction(SIGTERM)");
  }
  return absl::OkStatus();
}

bool TerminationRequested() { return requested.load(); }

int TerminationRequestFd() { return request_fd.load(); }

void DieIfTerminationRequested() {
  if (TerminationRequested()) DieBySigterm();
}

TerminationDeferral::TerminationDeferral() { deferrals.fetch_add(1); }

TerminationDeferral::~TerminationDeferral() { deferrals.fetch_sub(1); }

}  // namespace futured::server
