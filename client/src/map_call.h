// MapCall: one daemon Map call (a chunk of one map's inputs) and the results
// read from it but not yet yielded.
#ifndef FUTURED_CLIENT_SRC_MAP_CALL_H_
#define FUTURED_CLIENT_SRC_MAP_CALL_H_

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "futured/v1/executor.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace futured::internal {

class ClientCore;

// Owned by shared_ptr: the MapStream that yields its items, and the
// ExecutorCore that waits for it at shutdown (weakly, or strongly once the
// map was dropped unread). The daemon runs the call's tasks whether or not
// its results are read; they end with the call (Cancel, or its timeout).
// Thread-safe: the map's thread takes items while Executor::shutdown may
// drain the call from another thread. Next and Drain block for the daemon.
class MapCall {
 public:
  // Starts the call (`timeout` as ClientCore::SetWaitDeadline takes it).
  MapCall(ClientCore& client, const v1::MapRequest& request,
          absl::Duration timeout);
  ~MapCall();  // Cancel()
  MapCall(const MapCall&) = delete;
  MapCall& operator=(const MapCall&) = delete;

  // The next item's outcome, in input order, reading a message if none is
  // kept. std::nullopt once there is none: *ended is then the call's end,
  // OK when every item was taken; else DEADLINE_EXCEEDED (its timeout), the
  // daemon's error, or INTERNAL if the stream ended early.
  std::optional<v1::Outcome> Next(grpc::Status* ended);

  // Reads every message still to come, keeping them for Next: blocks until
  // the daemon has sent every result (its tasks are done) or the call ends.
  void Drain();

  // Ends the call at once; the daemon cancels its tasks not yet done. What
  // was read stays for Next.
  void Cancel();

 private:
  // Reads one message into messages_; false once the stream has ended
  // (reader_ finished, status_ set).
  bool ReadLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  grpc::ClientContext context_;  // TryCancel is thread-safe
  const std::size_t size_;       // inputs of the call

  absl::Mutex mu_;
  // Null once finished.
  std::unique_ptr<grpc::ClientReader<v1::MapResponse>> reader_
      ABSL_GUARDED_BY(mu_);
  grpc::Status status_ ABSL_GUARDED_BY(mu_);  // once reader_ is finished
  std::deque<v1::MapResponse> messages_ ABSL_GUARDED_BY(mu_);  // unyielded
  int next_item_ ABSL_GUARDED_BY(mu_) = 0;         // in messages_.front()
  std::size_t received_ ABSL_GUARDED_BY(mu_) = 0;  // items read
};

}  // namespace futured::internal

#endif  // FUTURED_CLIENT_SRC_MAP_CALL_H_
