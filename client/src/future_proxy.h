// FutureProxy: the state behind every copy of one Future<T>: what this
// process knows of a daemon future, its pending done-callbacks, and the
// calls that ask the daemon about it.
#ifndef FUTURED_CLIENT_SRC_FUTURE_PROXY_H_
#define FUTURED_CLIENT_SRC_FUTURE_PROXY_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "futured/info.h"
#include "futured/v1/executor.pb.h"

namespace futured::internal {

class ClientCore;

// Owned by shared_ptr (Future copies, the Watch stream, as_completed, map,
// an Executor's tracking). Thread-safe. Once final (the outcome seen, or the
// future lost with an RPC error) it never changes and never calls again.
// Methods that call the daemon block for that call and throw RpcError.
class FutureProxy : public std::enable_shared_from_this<FutureProxy> {
 public:
  using Callback = std::function<void(const std::shared_ptr<FutureProxy>&)>;

  FutureProxy(std::shared_ptr<ClientCore> core, std::string id);

  const std::string& id() const { return id_; }
  ClientCore& core() const { return *core_; }

  // --- What is known, without calls.
  // The final snapshot (with outcome) if seen; throws RpcError if lost.
  std::optional<v1::FutureInfo> Final() const;
  // True when the future is known to be done (final, lost, or from Wait).
  bool KnownDone() const;
  // True when final or lost: result() would make no call.
  bool KnownFinal() const;

  // --- What the daemon said. Each may make the proxy final, which posts
  // the pending callbacks to the client's callback thread.
  void Record(const v1::FutureInfo& info);
  void RecordDone();  // Wait reported it done; the outcome is still unknown
  void RecordLost(absl::Status status);

  // --- Calls (each a no-op on what is known already).
  // Waits up to `timeout` (Result) and returns the final snapshot; throws
  // TimeoutError, RpcError.
  v1::FutureInfo AwaitFinal(absl::Duration timeout);
  // GetFuture, unless final.
  v1::FutureInfo Snapshot();
  // FollowProgress for up to `timeout`: calls on_change(info) in this thread
  // for each snapshot the daemon streams, the final one last, and returns
  // that. Only the final one when already final. Throws TimeoutError,
  // RpcError, or what on_change throws (the call is then cancelled).
  v1::FutureInfo Follow(
      const std::function<void(const v1::FutureInfo&)>& on_change,
      absl::Duration timeout);
  // Cancel, unless final; returns CancelResponse.cancelled. As Python's
  // cancel(), the done-callbacks run in this thread before it returns when
  // the future is done by then (even if the Watch stream heard first).
  bool Cancel();
  // Cancels only if it has not started (shutdown's cancel_futures): one
  // Cancel with only_if_pending, so the daemon decides in one step and a
  // running task is never told to stop. No-op when known done. Runs the
  // callbacks as Cancel() does.
  void CancelIfPending();

  // Adds a done-callback: runs it at once in this thread when the future
  // is known to be done (asking the daemon for the outcome if needed),
  // else keeps it and follows the future on the Watch stream.
  void AddCallback(Callback callback);

 private:
  // One Cancel call; records the snapshot it returns and runs the callbacks
  // (see Cancel()).
  v1::CancelResponse CallCancel(bool only_if_pending);

  // Makes the proxy final with `info` if it is done and the proxy is not
  // final yet; returns the callbacks that the caller must now run. While a
  // Cancel call is in flight, the callbacks of any other caller are kept
  // for the canceller instead (handed_over_) and none are returned.
  std::vector<Callback> TakeFinal(const v1::FutureInfo& info,
                                  bool by_canceller = false);
  // Final or lost: hands the callbacks to the callback thread.
  void PostCallbacks(std::vector<Callback> callbacks);
  // Runs the callbacks in this thread.
  void RunCallbacks(const std::vector<Callback>& callbacks);

  // Constant after construction.
  const std::shared_ptr<ClientCore> core_;
  const std::string id_;

  mutable absl::Mutex mu_;
  std::optional<v1::FutureInfo> final_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Status> lost_ ABSL_GUARDED_BY(mu_);
  bool known_done_ ABSL_GUARDED_BY(mu_) = false;
  bool watched_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Callback> callbacks_ ABSL_GUARDED_BY(mu_);
  int cancelling_ ABSL_GUARDED_BY(mu_) = 0;  // Cancel calls in flight
  // Taken by another caller while cancelling_, for the canceller to run.
  std::vector<Callback> handed_over_ ABSL_GUARDED_BY(mu_);
};

}  // namespace futured::internal

#endif  // FUTURED_CLIENT_SRC_FUTURE_PROXY_H_
