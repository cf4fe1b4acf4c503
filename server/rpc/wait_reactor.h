// The Wait call: Python's concurrent.futures.wait() over gRPC.
#ifndef FUTURED_SERVER_RPC_WAIT_REACTOR_H_
#define FUTURED_SERVER_RPC_WAIT_REACTOR_H_

#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "futured/v1/executor.pb.h"
#include "grpcpp/support/server_callback.h"
#include "server/future/future.h"
#include "server/rpc/proto_convert.h"
#include "server/rpc/wait_condition.h"
#include "server/rpc/waiting_reactor.h"

namespace futured::server::rpc {

// Answers when `mode` is satisfied or `deadline` passes; either way OK, with
// the done and not-done IDs (and timed_out when the condition did not hold).
// `futures` must hold no duplicates. Creates and deletes itself.
class WaitReactor final
    : public WaitingReactor<WaitReactor, grpc::ServerUnaryReactor> {
 public:
  WaitReactor(WaitDeps deps, std::vector<std::shared_ptr<Future>> futures,
              ReturnWhen mode, absl::Time deadline, v1::WaitResponse* response)
      : WaitReactor(deps, mode, response) {
    if (registered()) Begin(std::move(futures), deadline);
  }

  // A reactor whose futures are found later (some on other nodes).
  WaitReactor(WaitDeps deps, ReturnWhen mode, v1::WaitResponse* response)
      : WaitingReactor(deps), mode_(mode), response_(response) {
    registered_ = Register();
  }

  // As FutureReactor::registered().
  bool registered() const { return registered_; }

  // Setup, once, from any thread: waits on `futures` until `deadline`, or
  // ends the call with their error.
  void Begin(absl::StatusOr<std::vector<std::shared_ptr<Future>>> futures,
             absl::Time deadline) {
    if (!futures.ok()) {
      WithLock([&futures](WaitReactor& r) {
        r.RequestFinish(ToGrpcStatus(futures.status()));
      });
      EndSetup();
      return;
    }
    futures_ = *std::move(futures);
    condition_.emplace(mode_, static_cast<int64_t>(futures_.size()));
    for (const auto& future : futures_) {
      Watch(future, [f = future.get()](WaitReactor& r) {
        r.condition_->OnDone(f->Raised());
        if (r.condition_->Satisfied()) r.RequestFinish(grpc::Status::OK);
      });
    }
    StartTimer(deadline,
               [](WaitReactor& r) { r.RequestFinish(grpc::Status::OK); });
    EndSetup();
  }

 private:
  friend WaitingReactor;

  void OnSetupDone() {
    if (condition_ && condition_->Satisfied()) {
      RequestFinish(grpc::Status::OK);
    }
  }

  void Complete(const grpc::Status& status) {
    if (status.ok()) {
      for (const auto& future : futures_) {
        if (future->done()) {
          response_->add_done(future->id());
        } else {
          response_->add_not_done(future->id());
        }
      }
      response_->set_timed_out(!condition_->Satisfied());
    }
    Finish(status);
  }

  const ReturnWhen mode_;
  v1::WaitResponse* const response_;
  bool registered_ = false;
  // Set by Begin(), before EndSetup(); then guarded by the handle's mutex.
  std::vector<std::shared_ptr<Future>> futures_;
  std::optional<WaitCondition> condition_;
};

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_WAIT_REACTOR_H_
