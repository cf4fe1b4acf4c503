// The Watch call: a client names futures over time and hears of each once it is
// done.
#ifndef FUTURED_SERVER_RPC_WATCH_REACTOR_H_
#define FUTURED_SERVER_RPC_WATCH_REACTOR_H_

#include <deque>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
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
// half-closed and every followed future has been sent. In a cluster, an ID
// this node does not hold is looked up on the others (Engine::FindAnywhere)
// and followed through its mirror. Creates and deletes itself.
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
  // Follows `future`, found for ID `id`, or reports its error; a `mirror`
  // of another node's future is kept until it is sent (the engine's table
  // keeps this node's). Without the mutex, while the reactor cannot end (on
  // the reading thread, or with a lookup counted in lookups_).
  void FollowFound(const std::string& id,
                   absl::StatusOr<std::shared_ptr<Future>> future, bool mirror);
  // Follows another node's future `id` (a cluster's), once it is found.
  void FollowElsewhere(const std::string& id);

  bool HasReady() const { return !ready_.empty() || !errors_.empty(); }
  // A lookup on another node holds the stream open: its answer comes to
  // this reactor.
  bool Busy() const { return lookups_ > 0 || StreamingReactor::Busy(); }
  void FillNext(v1::WatchResponse* message);
  bool AllSent() const { return reads_done_ && pending_.empty(); }

  const Engine* const engine_;
  const std::string principal_;
  const int64_t max_ids_;
  v1::WatchRequest request_;  // the read in flight; used by one read at a time

  // Guarded by the handle's mutex.
  absl::flat_hash_set<std::string> pending_;  // followed, not yet sent
  // The mirrors among them, which nothing else keeps.
  absl::flat_hash_map<std::string, std::shared_ptr<Future>> mirrors_;
  std::deque<FutureSnapshot> ready_;
  std::deque<v1::WatchError> errors_;
  bool reads_done_ = false;
  int lookups_ = 0;  // FollowElsewhere() calls not yet answered
};

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_WATCH_REACTOR_H_
