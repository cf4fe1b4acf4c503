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
// (after the change in hand is written). Another node's future (in a
// cluster) is followed through its mirror, which changes only when the
// future ends: its state then, and its final state; its progress reports
// are seen on the node that runs it. Creates and deletes itself.
class ProgressReactor final
    : public StreamingReactor<ProgressReactor, v1::FutureInfo> {
 public:
  ProgressReactor(WaitDeps deps, std::shared_ptr<Future> future,
                  absl::Time deadline, grpc::Status on_deadline)
      : ProgressReactor(deps, std::move(on_deadline)) {
    if (registered()) Begin(std::move(future), deadline);
  }

  // A reactor whose future is found later (on another node): Begin() then.
  ProgressReactor(WaitDeps deps, grpc::Status on_deadline)
      : StreamingReactor(deps), on_deadline_(std::move(on_deadline)) {
    registered_ = Register();
  }

  // False when the daemon was draining: the call is finished already and
  // Begin() must not be called. Read it before the handler returns.
  bool registered() const { return registered_; }

  // Setup, once, from any thread: streams `future` until it is done or
  // `deadline` passes, or ends the call with its error.
  void Begin(absl::StatusOr<std::shared_ptr<Future>> future,
             absl::Time deadline) {
    if (!future.ok()) {
      WithLock([&future](ProgressReactor& r) {
        r.changed_ = false;  // nothing to send
        r.RequestFinish(ToGrpcStatus(future.status()));
      });
      EndSetup();
      return;
    }
    future_ = *std::move(future);
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

  // Set by Begin(), before EndSetup(); read under the mutex.
  std::shared_ptr<Future> future_;
  bool registered_ = false;
  const grpc::Status on_deadline_;
  // Guarded by the handle's mutex.
  bool changed_ = true;  // the state at the start is sent first
  bool final_sent_ = false;
};

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_PROGRESS_REACTOR_H_
