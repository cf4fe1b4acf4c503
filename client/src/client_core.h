// ClientCore: what a Client and everything obtained from it share: the
// channel, the stub, the options, the Watch stream for done-callbacks and
// the callback thread.
#ifndef FUTURED_CLIENT_SRC_CLIENT_CORE_H_
#define FUTURED_CLIENT_SRC_CLIENT_CORE_H_

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "callback_thread.h"
#include "done_watcher.h"
#include "futured/call.h"
#include "futured/client.h"
#include "futured/v1/executor.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace futured::internal {

// Owned jointly (shared_ptr) by the Client, its Executors, Futures and
// ranges; lives until the last is gone. Thread-safe. Close() (from
// ~Client) ends the Watch stream and the callback thread; calls go on
// working afterwards.
class ClientCore {
 public:
  ClientCore(std::string target, ClientOptions options);
  ~ClientCore();  // Close()
  ClientCore(const ClientCore&) = delete;
  ClientCore& operator=(const ClientCore&) = delete;

  const std::string& target() const { return target_; }
  const ClientOptions& options() const { return options_; }
  grpc::Channel& channel() const { return *channel_; }
  v1::Executor::Stub& stub() const { return *stub_; }

  // One Submit of `call` to the pool `pool`; sets *id on success. With a
  // request_id, a Submit that fails UNAVAILABLE (a node that stopped) is
  // made again, up to 5 attempts, on another node if the target names
  // several; without one it is never repeated. The
  // caller decides what tracks the future (Executor) or that nothing does
  // (Client::submit).
  grpc::Status Submit(const Call& call, std::string_view pool,
                      std::string* id) const;

  // One Run call: submits `call` to `pool` and waits until it is done (no
  // deadline unless the call has a timeout: then timeout + call_timeout);
  // sets *info to the done future.
  grpc::Status Run(const Call& call, std::string_view pool,
                   v1::FutureInfo* info) const;

  // One SubmitBatch call of `calls` to `pool`; on success sets *results to
  // one entry per call, in order: its future's ID, or what Submit would have
  // answered for it. The call as a whole fails only for too many calls or a
  // daemon that is unreachable or shutting down.
  grpc::Status SubmitBatch(
      absl::Span<const Call> calls, std::string_view pool,
      std::vector<absl::StatusOr<std::string>>* results) const;

  // Sets the deadline of a call that does not wait for a task.
  void SetCallDeadline(grpc::ClientContext* context) const;
  // Sets the deadline of a call that waits `timeout` on the daemon:
  // timeout + call_timeout, so that the daemon's own answer arrives first.
  void SetWaitDeadline(grpc::ClientContext* context,
                       absl::Duration timeout) const;

  // Follows `proxy` on the Watch stream until it is done.
  void Watch(std::shared_ptr<FutureProxy> proxy) { watcher_.Watch(proxy); }
  // Runs `task` on the callback thread.
  void Post(std::function<void()> task) { callbacks_.Post(std::move(task)); }

  // Ends the Watch stream (its futures' callbacks run, with RpcError
  // CANCELLED) and the callback thread. Idempotent; blocks.
  void Close();

 private:
  // Constant after construction.
  const std::string target_;
  const ClientOptions options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::Executor::Stub> stub_;

  // Destroyed (closed) before the callback thread it posts to.
  CallbackThread callbacks_;
  DoneWatcher watcher_;
};

}  // namespace futured::internal

#endif  // FUTURED_CLIENT_SRC_CLIENT_CORE_H_
