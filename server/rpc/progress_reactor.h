// The FollowProgress call: one future's state and progress as a server
// stream.
#ifndef FUTURED_SERVER_RPC_PROGRESS_REACTOR_H_
#define FUTURED_SERVER_RPC_PROGRESS_REACTOR_H_

#include <memory>
#include <utility>

#include "absl/time/time.h"
#include "futured/v1/future.pb.h"
#include "grpcpp/support/status.h"
#include "server/future/future.h"
#include "server/rpc/proto_convert.h"
#include "server/rpc/streaming_reactor.h"

namespace futured::server::rpc {

// Streams `future`'s FutureInfo: at once, then after each change (it
// starts, its task reports progress), and last when it is done; then ends
// OK. One write is in flight at a time and each message is a fresh
// snapshot, so changes that come faster than the client reads are coalesced
// into the latest state, and a task reporting in a tight loop costs one
// message per round trip. At `deadline` the call ends with `on_deadline`
// (after the change in hand is written). Creates and deletes itself.
class ProgressReactor final
    : public StreamingReactor<ProgressReactor, v1::FutureInfo> {
 public:
  ProgressReactor(WaitDeps deps, std::shared_ptr<Future> future,
                  absl::Time deadline, grpc::Status on_deadline)
      : StreamingReactor(deps),
        future_(std::move(future)),
        on_deadline_(std::move(on_deadline)) {
    if (!Register()) return;
    WatchChanges(future_, [](ProgressReactor& r) { r.Changed(); });
    Watch(future_, [](ProgressReactor& r) { r.Changed(); });
    StartTimer(deadline, [](ProgressReactor& r) {
      r.RequestFinish(r.on_deadline_);
      r.Pump();
    });
    EndSetup();
  }

 private:
  friend WaitingReactor;
  friend StreamingReactor;

  // Under the mutex, as every method below.
  void Changed() {
    if (final_sent_) return;  // the done-callback after the final snapshot
    changed_ = true;
    Pump();
  }
  bool HasReady() const { return changed_; }
  void FillNext(v1::FutureInfo* message) {
    const FutureSnapshot snapshot = future_->Snapshot();
    ToProto(snapshot, message);
    changed_ = false;
    if (snapshot.done()) final_sent_ = true;
  }
  bool AllSent() const { return final_sent_; }

  const std::shared_ptr<Future> future_;
  const grpc::Status on_deadline_;
  // Guarded by the handle's mutex.
  bool changed_ = true;  // the state at the start is sent first
  bool final_sent_ = false;
};

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_PROGRESS_REACTOR_H_
