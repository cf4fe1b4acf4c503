// futured.v1.Executor over gRPC's callback API: translates calls to the Engine.
#ifndef FUTURED_SERVER_RPC_EXECUTOR_SERVICE_H_
#define FUTURED_SERVER_RPC_EXECUTOR_SERVICE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "futured/v1/executor.grpc.pb.h"
#include "server/engine/engine.h"
#include "server/engine/timer_queue.h"
#include "server/rpc/caller.h"
#include "server/rpc/waiting_calls.h"
#include "server/rpc/waiting_reactor.h"
#include "server/store/cluster_view.h"

namespace futured::server::rpc {

struct ServiceOptions {
  int64_t max_ids_per_call = 10000;  // AsCompleted, Wait, Release, SubmitBatch
  int64_t max_map_inputs = 100000;
  // How long Cancel waits for a running task to stop before answering.
  absl::Duration cancel_grace = absl::Seconds(2);
  std::string version;       // reported by GetStats
  CallerPolicy caller = {};  // who may call, and who owns what
  // Cluster mode: the view GetStats reports; it outlives the service.
  const ClusterView* cluster = nullptr;
};

// The Executor service. Its unary and server-streaming methods parse their
// requests themselves (parsing_handler.h), so that a request protobuf
// refuses is answered INVALID_ARGUMENT saying why (gRPC 1.51's handlers
// answer UNIMPLEMENTED with no message). Every call first establishes its
// caller's principal (caller.h): UNAUTHENTICATED without valid credentials, and
// a future is found, waited on or released only by the principal that submitted
// it. Handlers never block: a call that waits (Result, Wait, AsCompleted, Map,
// Watch, FollowProgress, Cancel of a running task) gets a reactor that a
// future's completion or a timer finishes. In a cluster, GetFuture, Result,
// Wait, AsCompleted, Cancel, Release, Watch and FollowProgress also answer
// for other nodes' futures (Engine::elsewhere()): their reactors begin once
// those are found, on the cluster bus's thread. `engine` and `timers` must
// outlive the service, and the service must outlive the grpc::Server.
class ExecutorService final : public v1::Executor::CallbackService {
 public:
  ExecutorService(ServiceOptions options, Engine* engine, TimerQueue* timers);

  // Shutdown, step one: Submit and Map get UNAVAILABLE from now on; calls
  // that wait on existing futures go on, so that they can be answered with
  // each future's final state as the engine shuts down. Never blocks.
  void StopAccepting() { accepting_.store(false); }

  // Shutdown, once the engine has stopped: new calls get UNAVAILABLE and
  // every call still waiting (a Watch stream, a call on a task that ignored
  // cancellation) is ended with UNAVAILABLE. Never blocks for long.
  void Drain();

  // RPCs waiting on futures now, for metrics.
  int64_t waiting_calls() const { return waiting_.size(); }

  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* context,
                                   const v1::SubmitRequest* request,
                                   v1::SubmitResponse* response) override;
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context,
                                const v1::SubmitRequest* request,
                                v1::FutureInfo* response) override;
  grpc::ServerUnaryReactor* SubmitBatch(
      grpc::CallbackServerContext* context,
      const v1::SubmitBatchRequest* request,
      v1::SubmitBatchResponse* response) override;
  grpc::ServerUnaryReactor* GetFuture(grpc::CallbackServerContext* context,
                                      const v1::GetFutureRequest* request,
                                      v1::FutureInfo* response) override;
  grpc::ServerUnaryReactor* Result(grpc::CallbackServerContext* context,
                                   const v1::ResultRequest* request,
                                   v1::FutureInfo* response) override;
  grpc::ServerUnaryReactor* Cancel(grpc::CallbackServerContext* context,
                                   const v1::CancelRequest* request,
                                   v1::CancelResponse* response) override;
  grpc::ServerWriteReactor<v1::AsCompletedResponse>* AsCompleted(
      grpc::CallbackServerContext* context,
      const v1::AsCompletedRequest* request) override;
  grpc::ServerUnaryReactor* Wait(grpc::CallbackServerContext* context,
                                 const v1::WaitRequest* request,
                                 v1::WaitResponse* response) override;
  grpc::ServerWriteReactor<v1::MapResponse>* Map(
      grpc::CallbackServerContext* context,
      const v1::MapRequest* request) override;
  grpc::ServerUnaryReactor* Release(grpc::CallbackServerContext* context,
                                    const v1::ReleaseRequest* request,
                                    v1::ReleaseResponse* response) override;
  grpc::ServerUnaryReactor* ListFunctions(
      grpc::CallbackServerContext* context,
      const v1::ListFunctionsRequest* request,
      v1::ListFunctionsResponse* response) override;
  grpc::ServerUnaryReactor* GetStats(grpc::CallbackServerContext* context,
                                     const v1::GetStatsRequest* request,
                                     v1::GetStatsResponse* response) override;
  grpc::ServerBidiReactor<v1::WatchRequest, v1::WatchResponse>* Watch(
      grpc::CallbackServerContext* context) override;
  grpc::ServerWriteReactor<v1::FutureInfo>* FollowProgress(
      grpc::CallbackServerContext* context,
      const v1::FollowProgressRequest* request) override;

 private:
  // The index of `method` in futured.v1.Executor, as the generated code
  // numbers it.
  static int MethodIndex(const std::string& method);
  // Replaces the generated handler of `method` by one that parses its
  // requests itself and calls `handler`.
  template <class Request, class Response>
  void ParseRequestsItself(
      const std::string& method,
      grpc::ServerUnaryReactor* (ExecutorService::*handler)(
          grpc::CallbackServerContext*, const Request*, Response*));
  template <class Request, class Response>
  void ParseRequestsItself(
      const std::string& method,
      grpc::ServerWriteReactor<Response>* (ExecutorService::*handler)(
          grpc::CallbackServerContext*, const Request*));

  // The principal of the call, or UNAUTHENTICATED.
  absl::StatusOr<std::string> Caller(
      const grpc::CallbackServerContext& context) const {
    return CallerPrincipal(context, options_.caller);
  }
  // The opening of a call that starts work: the caller's principal, or
  // UNAUTHENTICATED, or UNAVAILABLE while the daemon shuts down.
  absl::StatusOr<std::string> CallerWhileAccepting(
      const grpc::CallbackServerContext& context) const;
  // The opening of a call about one future: the caller, a debug line, and
  // the caller's future `id` (INVALID_ARGUMENT, NOT_FOUND).
  absl::StatusOr<std::shared_ptr<Future>> CallersFuture(
      grpc::CallbackServerContext* context, absl::string_view method,
      const std::string& id) const;
  // Checks and binds one request's call.
  absl::StatusOr<PreparedCall> PrepareOne(const v1::SubmitRequest& request);
  // Submit's work for one request of `principal`: checks, binds and queues
  // it in the table, or with a request_id finds the future it started
  // before; `accepted` gets the future or the error, inline or, with a
  // journal, from the journal's thread once the future is durable.
  void SubmitOne(absl::string_view principal, const v1::SubmitRequest& request,
                 Engine::Accepted accepted);

  // The caller's futures `ids`, each once in first-seen order
  // (Engine::FindAnywhere()); `found` gets them, inline or on the cluster
  // bus's thread. Fails on the first bad or unknown ID, or on too many IDs.
  void FindAnywhere(const google::protobuf::RepeatedPtrField<std::string>& ids,
                    const std::string& principal, RemoteFutures::Found found);
  // Begins `reactor` (an AsCompletedReactor or WaitReactor) with the
  // caller's futures `ids` and `deadline` once FindAnywhere() has them, or
  // with its error.
  template <typename Reactor>
  void BeginWhenFound(
      const google::protobuf::RepeatedPtrField<std::string>& ids,
      const std::string& principal, absl::Time deadline, Reactor* reactor);
  // The same for a reactor on the one future `id` (FutureReactor,
  // ProgressReactor).
  template <typename Reactor>
  void BeginWhenFound(const std::string& id, const std::string& principal,
                      absl::Time deadline, Reactor* reactor);
  // Cancel of a future that another node of the cluster holds.
  grpc::ServerUnaryReactor* CancelElsewhere(
      grpc::CallbackServerContext* context, const v1::CancelRequest& request,
      v1::CancelResponse* response);
  WaitDeps deps() { return WaitDeps{.calls = waiting_, .timers = *timers_}; }
  bool accepting() const { return accepting_.load() && !waiting_.draining(); }

  const ServiceOptions options_;
  Engine* const engine_;
  TimerQueue* const timers_;
  const absl::Time start_time_;
  WaitingCalls waiting_;
  std::atomic<bool> accepting_{true};  // false once StopAccepting() ran
};

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_EXECUTOR_SERVICE_H_
