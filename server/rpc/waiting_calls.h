// The live RPCs that wait on futures, so shutdown can end them and stats count
// them.
#ifndef FUTURED_SERVER_RPC_WAITING_CALLS_H_
#define FUTURED_SERVER_RPC_WAITING_CALLS_H_

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/support/status.h"

namespace futured::server::rpc {

// A waiting RPC as the registry sees it: something that can be ended.
class WaitingCall {
 public:
  virtual ~WaitingCall() = default;
  // Ends the call with `status` unless it has ended already. Never blocks.
  virtual void Abort(const grpc::Status& status) = 0;
};

// Every Result, Wait, AsCompleted, Map and Cancel call still waiting.
// Thread-safe. Drain() refuses new calls and aborts the live ones: the
// first step of a graceful shutdown, so that Server::Shutdown has no
// reactor left that would never finish.
class WaitingCalls {
 public:
  WaitingCalls() = default;
  WaitingCalls(const WaitingCalls&) = delete;
  WaitingCalls& operator=(const WaitingCalls&) = delete;

  // Registers `call`. False once draining: the caller must then end the
  // call itself (with UNAVAILABLE).
  bool Add(std::shared_ptr<WaitingCall> call) ABSL_LOCKS_EXCLUDED(mu_);
  void Remove(const WaitingCall* call) ABSL_LOCKS_EXCLUDED(mu_);

  // Refuses new calls from now on and aborts every live one with `status`.
  void Drain(const grpc::Status& status) ABSL_LOCKS_EXCLUDED(mu_);

  bool draining() const ABSL_LOCKS_EXCLUDED(mu_);
  int64_t size() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  bool draining_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<const WaitingCall*, std::shared_ptr<WaitingCall>> calls_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_WAITING_CALLS_H_
