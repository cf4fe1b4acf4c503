#include "server/worker/worker_channel.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace futured::server {

WorkerChannel::~WorkerChannel() { close(fd_); }

absl::Status WorkerChannel::Send(const google::protobuf::MessageLite& message) {
  std::string frame;
  if (absl::Status s = EncodeFrame(message, max_payload_bytes_, &frame);
      !s.ok()) {
    return s;
  }
  size_t sent = 0;
  while (sent < frame.size()) {
    const ssize_t n =
        send(fd_, frame.data() + sent, frame.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::UnavailableError(
          absl::StrCat("cannot send a frame: ", std::strerror(errno)));
    }
    sent += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status WorkerChannel::ReadSome() {
  char buffer[64 * 1024];
  ssize_t n;
  do {
    n = read(fd_, buffer, sizeof(buffer));
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot read from the peer: ", std::strerror(errno)));
  }
  if (n == 0) {
    if (absl::Status s = decoder_.AtEndOfStream(); !s.ok()) return s;
    return absl::OutOfRangeError("the peer closed its end");
  }
  decoder_.Append(absl::string_view(buffer, static_cast<size_t>(n)));
  return absl::OkStatus();
}

}  // namespace futured::server
