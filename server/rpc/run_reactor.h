// The Run call: submit and wait in one round trip.
#ifndef FUTURED_SERVER_RPC_RUN_REACTOR_H_
#define FUTURED_SERVER_RPC_RUN_REACTOR_H_

#include <memory>

#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "grpcpp/support/server_callback.h"
#include "server/future.h"
#include "server/rpc/waiting_reactor.h"

namespace futured::server::rpc {

// A unary reactor that answers OK, after fill(snapshot) has written the
// response, once `future` is done. The future is the call's own (nobody else
// holds it): when the call ends for any other reason (the client cancels,
// its deadline passes, shutdown) the future is cancelled. Creates and
// deletes itself (gRPC owns it between the handler's return and OnDone).
class RunReactor final
    : public WaitingReactor<RunReactor, grpc::ServerUnaryReactor> {
 public:
  using Fill = absl::AnyInvocable<void(const FutureSnapshot&)>;

  RunReactor(WaitDeps deps, std::shared_ptr<Future> future, Fill fill)
      : WaitingReactor(deps),
        future_(std::move(future)),
        fill_(std::move(fill)) {
    if (!Register()) return;
    Watch(future_, [](RunReactor& r) { r.RequestFinish(grpc::Status::OK); });
    EndSetup();
  }

 private:
  friend WaitingReactor;

  void Complete(const grpc::Status& status) {
    if (status.ok()) fill_(future_->Snapshot());
    Finish(status);
  }
  // A no-op once the future is done.
  void OnEnded() { future_->Cancel(absl::Now()); }

  const std::shared_ptr<Future> future_;
  Fill fill_;
};

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_RUN_REACTOR_H_
