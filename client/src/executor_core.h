// ExecutorCore: the state behind an Executor and its map streams: the pool,
// the shutdown flag and the futures to wait for or cancel at shutdown.
#ifndef FUTURED_CLIENT_SRC_EXECUTOR_CORE_H_
#define FUTURED_CLIENT_SRC_EXECUTOR_CORE_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "futured/call.h"
#include "futured/v1/executor.pb.h"
#include "futured/v1/future.pb.h"

namespace futured::internal {

class ClientCore;
class FutureProxy;
class MapCall;

// Owned by shared_ptr (the Executor, its MapStreams). Thread-safe. Submit
// blocks for one call; Shutdown(wait) until the tracked futures and map
// calls are done.
// The tracked list is pruned as it doubles: futures known done are dropped,
// and only when 16,384 or more are not does one Wait with a zero timeout ask
// the daemon about them, so fire-and-forget submitting stays in bounded
// memory here as long as the futures finish.
class ExecutorCore {
 public:
  ExecutorCore(std::shared_ptr<ClientCore> client, std::string pool);

  const std::string& pool() const { return pool_; }
  ClientCore& client() const { return *client_; }

  // Submits `call` to the pool; throws Error after Shutdown, RpcError,
  // ValueError.
  std::shared_ptr<FutureProxy> Submit(const Call& call);

  // Submits `calls` with one SubmitBatch call per chunk, and returns a proxy
  // per call, in order. A call the daemon refused gets a proxy that is lost
  // with that status (its result() throws RpcError); the others run. Throws
  // Error after Shutdown, RpcError if a whole chunk fails.
  std::vector<std::shared_ptr<FutureProxy>> SubmitBatch(
      const std::vector<Call>& calls);

  // Runs `call` in one Run call and returns the done future's info; throws
  // Error after Shutdown, RpcError.
  v1::FutureInfo Run(const Call& call);

  // Throws RuntimeError after Shutdown.
  void CheckOpen();

  // Starts one Map call of a map of this executor and follows it, so that
  // Shutdown(wait) waits for its results as Python's waits for a map's
  // futures. Throws RuntimeError after Shutdown.
  std::shared_ptr<MapCall> StartMapCall(const v1::MapRequest& request,
                                        absl::Duration timeout);
  // Keeps the calls of a map dropped before it was read running until
  // Shutdown(wait) has waited for them (Python leaves the futures of such a
  // map running too).
  void Adopt(std::vector<std::shared_ptr<MapCall>> calls);

  void Shutdown(bool wait, bool cancel_futures);

 private:
  // Counts a submit in progress; throws Error after Shutdown.
  void BeginSubmit();
  // Ends it, tracking `proxies`.
  void EndSubmit(const std::vector<std::shared_ptr<FutureProxy>>& proxies);

  // Drops tracked futures known to be done, and asks the daemon about the
  // rest when they are many.
  void Prune();

  // Constant after construction.
  const std::shared_ptr<ClientCore> client_;
  const std::string pool_;

  absl::Mutex mu_;
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
  int submitting_ ABSL_GUARDED_BY(mu_) = 0;  // Submit calls in progress
  std::vector<std::shared_ptr<FutureProxy>> tracked_ ABSL_GUARDED_BY(mu_);
  std::size_t prune_at_ ABSL_GUARDED_BY(mu_);
  // The map calls started; those gone are pruned as the list doubles.
  std::vector<std::weak_ptr<MapCall>> map_calls_ ABSL_GUARDED_BY(mu_);
  std::size_t map_prune_at_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<MapCall>> adopted_ ABSL_GUARDED_BY(mu_);
};

// Waits (one Wait call per chunk of IDs) until `proxies` are all done, or
// up to `timeout`; marks those the daemon reports done, and those it no
// longer knows (released, expired) lost with NOT_FOUND. Throws RpcError.
void WaitAllDone(const std::vector<std::shared_ptr<FutureProxy>>& proxies,
                 absl::Duration timeout);

}  // namespace futured::internal

#endif  // FUTURED_CLIENT_SRC_EXECUTOR_CORE_H_
