// One end of the socket between the daemon and a worker process, carrying
// framed protobuf messages (common/frame_codec.h).
#ifndef FUTURED_SERVER_WORKER_WORKER_CHANNEL_H_
#define FUTURED_SERVER_WORKER_WORKER_CHANNEL_H_

#include <cstddef>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/frame_codec.h"
#include "google/protobuf/message_lite.h"

namespace futured::server {

// The descriptor a worker process finds its end of the socket on.
inline constexpr int kWorkerChannelFd = 3;

// Owns a connected stream socket (closes it in the destructor) and the
// decoder for what arrives on it. Not thread-safe: one thread owns it.
class WorkerChannel {
 public:
  WorkerChannel(int fd, size_t max_payload_bytes)
      : fd_(fd),
        max_payload_bytes_(max_payload_bytes),
        decoder_(max_payload_bytes) {}
  ~WorkerChannel();
  WorkerChannel(const WorkerChannel&) = delete;
  WorkerChannel& operator=(const WorkerChannel&) = delete;

  int fd() const { return fd_; }

  // Writes `message` as one frame, blocking until all of it is written.
  // Never raises SIGPIPE. UNAVAILABLE if the peer has gone.
  absl::Status Send(const google::protobuf::MessageLite& message);

  // One read(2) into the decoder; blocks on a blocking socket if nothing is
  // there. OUT_OF_RANGE once the peer has closed its end (after the decoder
  // has checked that no frame was cut short); UNAVAILABLE on a read error.
  absl::Status ReadSome();

  // The decoder's next whole frame, as FrameDecoder::Next().
  absl::StatusOr<bool> Next(google::protobuf::MessageLite* message) {
    return decoder_.Next(message);
  }

 private:
  const int fd_;
  const size_t max_payload_bytes_;
  FrameDecoder decoder_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_WORKER_WORKER_CHANNEL_H_
