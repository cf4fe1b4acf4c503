// Waits for one future: the Result call, Cancel's short wait for a task to
// stop, and the Run call (submit and wait in one round trip).
#ifndef FUTURED_SERVER_RPC_FUTURE_REACTOR_H_
#define FUTURED_SERVER_RPC_FUTURE_REACTOR_H_

#include <memory>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/support/server_callback.h"
#include "server/future/future.h"
#include "server/rpc/proto_convert.h"
#include "server/rpc/waiting_reactor.h"

namespace futured::server::rpc {

// A unary reactor that answers once `future` is done or `deadline` passes
// (absl::InfiniteFuture(): never). Done: OK, after fill(snapshot) has written
// the response. Deadline: `on_deadline`, and if that is OK, fill(snapshot)
// too. A future that is the call's own (Run's: nobody else holds it) is
// cancelled when the call ends for any other reason (the client cancels, its
// deadline passes, shutdown). Creates and deletes itself (gRPC owns it
// between the handler's return and OnDone).
class FutureReactor final
    : public WaitingReactor<FutureReactor, grpc::ServerUnaryReactor> {
 public:
  using Fill = absl::AnyInvocable<void(const FutureSnapshot&)>;
  enum class Owner { kShared, kThisCall };

  FutureReactor(WaitDeps deps, std::shared_ptr<Future> future,
                absl::Time deadline, grpc::Status on_deadline, Fill fill,
                Owner owner = Owner::kShared)
      : FutureReactor(deps, std::move(on_deadline), std::move(fill), owner) {
    if (registered()) Begin(std::move(future), deadline);
  }

  // A reactor whose future is found later (on another node): Begin() then.
  FutureReactor(WaitDeps deps, grpc::Status on_deadline, Fill fill,
                Owner owner = Owner::kShared)
      : WaitingReactor(deps),
        on_deadline_(std::move(on_deadline)),
        fill_(std::move(fill)),
        owner_(owner) {
    registered_ = Register();
  }

  // False when the daemon was draining: the call is finished already and
  // Begin() must not be called (the reactor may be gone once the handler
  // returns). Read it before the handler returns.
  bool registered() const { return registered_; }

  // Setup, once, from any thread: waits for `future` until `deadline`, or
  // ends the call with its error. The call stays open until then.
  void Begin(absl::StatusOr<std::shared_ptr<Future>> future,
             absl::Time deadline) {
    if (!future.ok()) {
      WithLock([&future](FutureReactor& r) {
        r.RequestFinish(ToGrpcStatus(future.status()));
      });
      EndSetup();
      return;
    }
    future_ = *std::move(future);
    Watch(future_, [](FutureReactor& r) { r.RequestFinish(grpc::Status::OK); });
    StartTimer(deadline,
               [](FutureReactor& r) { r.RequestFinish(r.on_deadline_); });
    EndSetup();
  }

 private:
  friend WaitingReactor;

  void Complete(const grpc::Status& status) {
    if (status.ok()) fill_(future_->Snapshot());
    Finish(status);
  }
  // A no-op once the future is done.
  void OnEnded() {
    if (owner_ == Owner::kThisCall && future_ != nullptr) {
      future_->Cancel(absl::Now());
    }
  }

  // Set by Begin(), before EndSetup(); read under the mutex or in OnDone.
  std::shared_ptr<Future> future_;
  bool registered_ = false;
  const grpc::Status on_deadline_;
  Fill fill_;
  const Owner owner_;
};

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_FUTURE_REACTOR_H_
