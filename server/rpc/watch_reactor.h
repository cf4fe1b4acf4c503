// The Watch call: a client names futures over time and hears of each once it is
// done.
#ifndef FUTURED_SERVER_RPC_WATCH_REACTOR_H_
#define FUTURED_SERVER_RPC_WATCH_REACTOR_H_

#include <deque>
#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "futured/v1/executor.pb.h"
#include "grpcpp/support/server_callback.h"
#include "server/engine/engine.h"
#include "server/rpc/streaming_reactor.h"

namespace futured::server::rpc {

// A bidi stream: each WatchRequest names futures; each is sent back once it
// is done, at once if it is done already. A future still pending is not
// followed twice. An ID that cannot be followed gets a WatchError and the
// stream goes on; a request with more than `max_ids` IDs ends the stream
// with RESOURCE_EXHAUSTED. The stream ends OK once the client has
// half-closed and every followed future has been sent. Creates and deletes
// itself.
class WatchReactor final
    : public StreamingReactor<
          WatchReactor, v1::WatchResponse,
          grpc::ServerBidiReactor<v1::WatchRequest, v1::WatchResponse>> {
 public:
  // Follows `principal`'s futures only (another's are NOT_FOUND errors).
  WatchReactor(WaitDeps deps, const Engine* engine, int64_t max_ids,
               std::string principal);

  void OnReadDone(bool ok) override;

 private:
  friend WaitingReactor;
  friend StreamingReactor;

  static constexpr int kMaxBatch = 256;  // entries per message

  // Follows each ID of request_. On the reading thread, without the mutex.
  void FollowRequested();

  bool HasReady() const { return !ready_.empty() || !errors_.empty(); }
  void FillNext(v1::WatchResponse* message);
  bool AllSent() const { return reads_done_ && pending_.empty(); }

  const Engine* const engine_;
  const std::string principal_;
  const int64_t max_ids_;
  v1::WatchRequest request_;  // the read in flight; used by one read at a time

  // Guarded by the handle's mutex.
  absl::flat_hash_set<std::string> pending_;  // followed, not yet sent
  std::deque<FutureSnapshot> ready_;
  std::deque<v1::WatchError> errors_;
  bool reads_done_ = false;
};

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_WATCH_REACTOR_H_
