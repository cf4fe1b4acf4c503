#include "server/rpc/executor_service.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/future_id.h"
#include "common/log.h"
#include "google/protobuf/descriptor.h"
#include "server/engine/argument_limits.h"
#include "server/rpc/as_completed_reactor.h"
#include "server/rpc/future_reactor.h"
#include "server/rpc/map_reactor.h"
#include "server/rpc/parsing_handler.h"
#include "server/rpc/progress_reactor.h"
#include "server/rpc/proto_convert.h"
#include "server/rpc/wait_reactor.h"
#include "server/rpc/watch_reactor.h"

namespace futured::server::rpc {
namespace {

const grpc::Status kShuttingDown(grpc::StatusCode::UNAVAILABLE,
                                 "futured is shutting down");

// One debug line per request: "Result from ipv4:127.0.0.1:5000 (alice):
// <detail>"; the anonymous principal is not named.
void LogRequest(grpc::CallbackServerContext* context, absl::string_view method,
                absl::string_view principal, absl::string_view detail) {
  if (!LogEnabled(LogLevel::kDebug)) return;
  Log(LogLevel::kDebug,
      absl::StrCat(method, " from ", context->peer(),
                   principal.empty() ? "" : absl::StrCat(" (", principal, ")"),
                   ": ", detail));
}

// Ends a unary call through its default reactor, with a debug line for a
// refusal. Any thread.
void FinishCall(grpc::CallbackServerContext* context,
                grpc::ServerUnaryReactor* reactor, const grpc::Status& status) {
  if (!status.ok() && LogEnabled(LogLevel::kDebug)) {
    Log(LogLevel::kDebug,
        absl::StrCat("call from ", context->peer(), " refused: ",
                     absl::StatusCodeToString(
                         static_cast<absl::StatusCode>(status.error_code())),
                     " ", status.error_message()));
  }
  reactor->Finish(status);
}

grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                 const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  FinishCall(context, reactor, status);
  return reactor;
}

grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* context,
                                 const absl::Status& status) {
  return Answer(context, ToGrpcStatus(status));
}

// A stream that ends with an error before writing anything. `Reactor` is
// the stream's reactor base (ServerWriteReactor<...>, ServerBidiReactor<...>).
template <typename Reactor>
class FailedCall final : public Reactor {
 public:
  explicit FailedCall(const grpc::Status& status) { this->Finish(status); }
  explicit FailedCall(const absl::Status& status)
      : FailedCall(ToGrpcStatus(status)) {}
  void OnDone() override { delete this; }
};
template <typename Response>
using FailedStream = FailedCall<grpc::ServerWriteReactor<Response>>;

// A request's `timeout`: unset is none; negative or out of range is
// INVALID_ARGUMENT.
template <typename Request>
absl::StatusOr<std::optional<absl::Duration>> TimeoutOf(
    const Request& request) {
  return FromProtoTimeout(request.has_timeout(), request.timeout(), "timeout");
}

absl::Time DeadlineAfter(std::optional<absl::Duration> timeout) {
  return timeout ? absl::Now() + *timeout : absl::InfiniteFuture();
}

absl::StatusOr<std::shared_ptr<Future>> FindFuture(
    const Engine& engine, const std::string& id, const std::string& principal) {
  if (absl::Status valid = ValidateFutureId(id); !valid.ok()) return valid;
  return engine.Find(id, principal);
}

absl::Status CheckIdCount(int size, int64_t max) {
  if (size <= max) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrCat(size, " ids in one call; at most ", max,
                   " allowed (--max_ids_per_call)"));
}

absl::StatusOr<ReturnWhen> FromProto(v1::ReturnWhen return_when) {
  switch (return_when) {
    case v1::RETURN_WHEN_FIRST_COMPLETED:
      return ReturnWhen::kFirstCompleted;
    case v1::RETURN_WHEN_FIRST_EXCEPTION:
      return ReturnWhen::kFirstException;
    case v1::RETURN_WHEN_UNSPECIFIED:
    case v1::RETURN_WHEN_ALL_COMPLETED:
      return ReturnWhen::kAllCompleted;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("return_when ", static_cast<int>(return_when),
                       " is not a ReturnWhen value"));
  }
}

void FillCancelResponse(CancelAction action, const FutureSnapshot& snapshot,
                        v1::CancelResponse* response) {
  response->set_cancelled(snapshot.state == FutureState::kCancelled);
  response->set_action(ToProto(action));
  ToProto(snapshot, response->mutable_future());
}

// True when a Map input's Prepare() error belongs to that input alone: its
// arguments, within the limits, do not bind to the function or the task
// refuses them. An empty or unknown function or pool, or arguments beyond
// --max_arg_depth / --max_arg_bytes, fail the whole call instead.
bool IsInputError(
    const v1::MapRequest& request,
    const google::protobuf::RepeatedPtrField<google::protobuf::Value>& args,
    const absl::Status& error, const ArgumentLimits& limits) {
  return error.code() != absl::StatusCode::kNotFound &&
         !request.function().empty() &&
         CheckArgumentLimits(args, google::protobuf::Struct(), limits).ok();
}

}  // namespace

ExecutorService::ExecutorService(ServiceOptions options, Engine* engine,
                                 TimerQueue* timers)
    : options_(std::move(options)),
      engine_(engine),
      timers_(timers),
      start_time_(absl::Now()) {
  // Watch, a bidirectional stream, reads its messages in its reactor.
  ParseRequestsItself("Submit", &ExecutorService::Submit);
  ParseRequestsItself("SubmitBatch", &ExecutorService::SubmitBatch);
  ParseRequestsItself("Run", &ExecutorService::Run);
  ParseRequestsItself("GetFuture", &ExecutorService::GetFuture);
  ParseRequestsItself("Result", &ExecutorService::Result);
  ParseRequestsItself("Cancel", &ExecutorService::Cancel);
  ParseRequestsItself("AsCompleted", &ExecutorService::AsCompleted);
  ParseRequestsItself("Wait", &ExecutorService::Wait);
  ParseRequestsItself("Map", &ExecutorService::Map);
  ParseRequestsItself("Release", &ExecutorService::Release);
  ParseRequestsItself("ListFunctions", &ExecutorService::ListFunctions);
  ParseRequestsItself("GetStats", &ExecutorService::GetStats);
  ParseRequestsItself("FollowProgress", &ExecutorService::FollowProgress);
}

int ExecutorService::MethodIndex(const std::string& method) {
  const google::protobuf::MethodDescriptor* found =
      google::protobuf::DescriptorPool::generated_pool()
          ->FindServiceByName(v1::Executor::service_full_name())
          ->FindMethodByName(method);
  if (found == nullptr) {
    Log(LogLevel::kError, absl::StrCat("futured.v1.Executor has no ", method));
    std::abort();
  }
  return found->index();
}

template <class Request, class Response>
void ExecutorService::ParseRequestsItself(
    const std::string& method,
    grpc::ServerUnaryReactor* (ExecutorService::*handler)(
        grpc::CallbackServerContext*, const Request*, Response*)) {
  MarkMethodCallback(
      MethodIndex(method),
      new ParsingUnaryHandler<Request, Response>(
          [this, handler](grpc::CallbackServerContext* context,
                          const Request* request, Response* response) {
            return (this->*handler)(context, request, response);
          }));
}

template <class Request, class Response>
void ExecutorService::ParseRequestsItself(
    const std::string& method,
    grpc::ServerWriteReactor<Response>* (ExecutorService::*handler)(
        grpc::CallbackServerContext*, const Request*)) {
  MarkMethodCallback(MethodIndex(method),
                     new ParsingServerStreamingHandler<Request, Response>(
                         [this, handler](grpc::CallbackServerContext* context,
                                         const Request* request) {
                           return (this->*handler)(context, request);
                         }));
}

void ExecutorService::Drain() { waiting_.Drain(kShuttingDown); }

absl::StatusOr<PreparedCall> ExecutorService::PrepareOne(
    const v1::SubmitRequest& request) {
  absl::StatusOr<std::optional<RetryPolicy>> retry = FromProto(request);
  if (!retry.ok()) return retry.status();
  absl::StatusOr<PreparedCall> call = engine_->Prepare(
      request.function(), request.args(), request.kwargs(), request.pool());
  if (call.ok() && retry->has_value()) {
    call->retry = std::make_shared<const RetryPolicy>(**std::move(retry));
  }
  return call;
}

void ExecutorService::SubmitOne(absl::string_view principal,
                                const v1::SubmitRequest& request,
                                Engine::Accepted accepted) {
  absl::StatusOr<std::optional<absl::Duration>> timeout = TimeoutOf(request);
  if (!timeout.ok()) return std::move(accepted)(timeout.status());
  if (absl::Status valid =
          RequestIndex::ValidateRequestId(request.request_id());
      !valid.ok()) {
    return std::move(accepted)(valid);
  }
  absl::StatusOr<PreparedCall> call = PrepareOne(request);
  if (!call.ok()) return std::move(accepted)(call.status());
  engine_->Submit(RequestKey{.principal = std::string(principal),
                             .request_id = request.request_id()},
                  *std::move(call), *timeout, std::move(accepted));
}

absl::StatusOr<std::string> ExecutorService::CallerWhileAccepting(
    const grpc::CallbackServerContext& context) const {
  absl::StatusOr<std::string> caller = Caller(context);
  if (caller.ok() && !accepting()) {
    return absl::UnavailableError(kShuttingDown.error_message());
  }
  return caller;
}

absl::StatusOr<std::shared_ptr<Future>> ExecutorService::CallersFuture(
    grpc::CallbackServerContext* context, absl::string_view method,
    const std::string& id) const {
  absl::StatusOr<std::string> caller = Caller(*context);
  if (!caller.ok()) return caller.status();
  LogRequest(context, method, *caller, id);
  return FindFuture(*engine_, id, *caller);
}

grpc::ServerUnaryReactor* ExecutorService::Submit(
    grpc::CallbackServerContext* context, const v1::SubmitRequest* request,
    v1::SubmitResponse* response) {
  absl::StatusOr<std::string> caller = CallerWhileAccepting(*context);
  if (!caller.ok()) return Answer(context, caller.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Answered once the future is accepted: with a journal, on its thread.
  SubmitOne(
      *caller, *request,
      [context, reactor, request, response,
       caller = *caller](absl::StatusOr<std::shared_ptr<Future>> future) {
        if (!future.ok()) {
          return FinishCall(context, reactor, ToGrpcStatus(future.status()));
        }
        response->set_id((*future)->id());
        if (LogEnabled(LogLevel::kDebug)) {
          LogRequest(context, "Submit", caller,
                     absl::StrCat(request->function(), " in pool '",
                                  (*future)->pool(), "' -> ", (*future)->id()));
        }
        FinishCall(context, reactor, grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* ExecutorService::Run(
    grpc::CallbackServerContext* context, const v1::SubmitRequest* request,
    v1::FutureInfo* response) {
  absl::StatusOr<std::string> caller = CallerWhileAccepting(*context);
  if (!caller.ok()) return Answer(context, caller.status());
  if (!request->request_id().empty()) {
    return Answer(context,
                  absl::InvalidArgumentError(
                      "Run does not take a request_id: its future is "
                      "the call's own and is never kept (use Submit)"));
  }
  absl::StatusOr<std::optional<absl::Duration>> timeout = TimeoutOf(*request);
  if (!timeout.ok()) return Answer(context, timeout.status());
  absl::StatusOr<PreparedCall> call = PrepareOne(*request);
  if (!call.ok()) return Answer(context, call.status());
  absl::StatusOr<std::shared_ptr<Future>> future =
      engine_->Start(*std::move(call), *timeout, Tracking::kPrivate, *caller);
  if (!future.ok()) return Answer(context, future.status());
  return new FutureReactor(
      deps(), *std::move(future), absl::InfiniteFuture(), grpc::Status::OK,
      [response](const FutureSnapshot& snapshot) {
        ToProto(snapshot, response);
      },
      FutureReactor::Owner::kThisCall);
}

grpc::ServerUnaryReactor* ExecutorService::SubmitBatch(
    grpc::CallbackServerContext* context, const v1::SubmitBatchRequest* request,
    v1::SubmitBatchResponse* response) {
  absl::StatusOr<std::string> caller = CallerWhileAccepting(*context);
  if (!caller.ok()) return Answer(context, caller.status());
  if (request->requests_size() > options_.max_ids_per_call) {
    return Answer(
        context,
        absl::ResourceExhaustedError(absl::StrCat(
            request->requests_size(), " calls in one batch; at most ",
            options_.max_ids_per_call, " allowed (--max_ids_per_call)")));
  }
  response->mutable_results()->Reserve(request->requests_size());
  for (int i = 0; i < request->requests_size(); ++i) response->add_results();
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Answered once every item is accepted or refused; each item's answer may
  // come on the journal's thread. One count for the loop itself.
  auto unanswered =
      std::make_shared<std::atomic<int>>(request->requests_size() + 1);
  auto answer_one = [context, reactor, unanswered] {
    if (unanswered->fetch_sub(1, std::memory_order_acq_rel) == 1) {
      FinishCall(context, reactor, grpc::Status::OK);
    }
  };
  for (int i = 0; i < request->requests_size(); ++i) {
    v1::SubmitBatchResult* result = response->mutable_results(i);
    SubmitOne(
        *caller, request->requests(i),
        [result, answer_one](absl::StatusOr<std::shared_ptr<Future>> future) {
          if (future.ok()) {
            result->set_id((*future)->id());
          } else {
            result->set_code(static_cast<int32_t>(future.status().code()));
            result->set_message(std::string(future.status().message()));
          }
          answer_one();
        });
  }
  answer_one();
  return reactor;
}

grpc::ServerUnaryReactor* ExecutorService::GetFuture(
    grpc::CallbackServerContext* context, const v1::GetFutureRequest* request,
    v1::FutureInfo* response) {
  absl::StatusOr<std::shared_ptr<Future>> future =
      CallersFuture(context, "GetFuture", request->id());
  if (future.ok()) {
    ToProto((*future)->Snapshot(), response);
    return Answer(context, grpc::Status::OK);
  }
  if (!absl::IsNotFound(future.status())) {
    return Answer(context, future.status());
  }
  // Not here; in a cluster, maybe another node's (read from the journal).
  absl::StatusOr<std::string> caller = Caller(*context);
  if (!caller.ok()) return Answer(context, caller.status());
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  engine_->LookUpElsewhere(
      request->id(), *std::move(caller),
      [context, reactor, response,
       not_here = future.status()](absl::StatusOr<FutureSnapshot> snapshot) {
        if (!snapshot.ok()) {
          return FinishCall(context, reactor,
                            ToGrpcStatus(absl::IsNotFound(snapshot.status())
                                             ? not_here
                                             : snapshot.status()));
        }
        ToProto(*snapshot, response);
        FinishCall(context, reactor, grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* ExecutorService::Result(
    grpc::CallbackServerContext* context, const v1::ResultRequest* request,
    v1::FutureInfo* response) {
  absl::StatusOr<std::string> caller = Caller(*context);
  if (!caller.ok()) return Answer(context, caller.status());
  LogRequest(context, "Result", *caller, request->id());
  absl::StatusOr<std::optional<absl::Duration>> timeout = TimeoutOf(*request);
  if (!timeout.ok()) return Answer(context, timeout.status());
  grpc::Status on_timeout(
      grpc::StatusCode::DEADLINE_EXCEEDED,
      absl::StrCat(
          "future ", request->id(), " is not done after ",
          absl::FormatDuration(timeout->value_or(absl::ZeroDuration()))));
  auto* reactor = new FutureReactor(deps(), std::move(on_timeout),
                                    [response](const FutureSnapshot& snapshot) {
                                      ToProto(snapshot, response);
                                    });
  if (!reactor->registered()) return reactor;
  google::protobuf::RepeatedPtrField<std::string> ids;
  ids.Add()->assign(request->id());
  FindAnywhere(ids, *caller,
               [reactor, deadline = DeadlineAfter(*timeout)](
                   absl::StatusOr<std::vector<std::shared_ptr<Future>>>
                       futures) mutable {
                 if (!futures.ok())
                   return reactor->Begin(futures.status(), deadline);
                 reactor->Begin(std::move(futures->front()), deadline);
               });
  return reactor;
}

grpc::ServerUnaryReactor* ExecutorService::Cancel(
    grpc::CallbackServerContext* context, const v1::CancelRequest* request,
    v1::CancelResponse* response) {
  absl::StatusOr<std::shared_ptr<Future>> future =
      CallersFuture(context, "Cancel", request->id());
  if (!future.ok()) {
    if (!absl::IsNotFound(future.status()) || engine_->elsewhere() == nullptr) {
      return Answer(context, future.status());
    }
    return CancelElsewhere(context, *request, response);
  }
  // only_if_pending never stops a running task, so there is nothing to wait
  // for: the answer below comes at once.
  const CancelAction action =
      engine_->Cancel(*future, request->only_if_pending());
  auto fill = [action, response](const FutureSnapshot& snapshot) {
    FillCancelResponse(action, snapshot, response);
  };
  if (action == CancelAction::kLeftRunning || (*future)->done()) {
    fill((*future)->Snapshot());
    return Answer(context, grpc::Status::OK);
  }
  // Give a running task a moment to stop, and an end held for the journal
  // the moment its commit takes, so the answer can say how it ended.
  return new FutureReactor(deps(), *std::move(future),
                           absl::Now() + options_.cancel_grace,
                           grpc::Status::OK, std::move(fill));
}

grpc::ServerUnaryReactor* ExecutorService::CancelElsewhere(
    grpc::CallbackServerContext* context, const v1::CancelRequest& request,
    v1::CancelResponse* response) {
  absl::StatusOr<std::string> caller = Caller(*context);
  if (!caller.ok()) return Answer(context, caller.status());
  // Set before Begin(), read by the fill after it.
  auto action = std::make_shared<CancelAction>(CancelAction::kAlreadyDone);
  auto* reactor =
      new FutureReactor(deps(), grpc::Status::OK,
                        [action, response](const FutureSnapshot& snapshot) {
                          FillCancelResponse(*action, snapshot, response);
                        });
  if (!reactor->registered()) return reactor;
  // The owner cancels as for its own; then, as above, the answer waits a
  // moment for the end (its row, and the notification of it).
  engine_->elsewhere()->Cancel(
      request.id(), *std::move(caller), request.only_if_pending(),
      [reactor, action, grace = options_.cancel_grace](
          absl::StatusOr<std::pair<CancelAction, std::shared_ptr<Future>>>
              cancelled) mutable {
        if (!cancelled.ok()) {
          return reactor->Begin(cancelled.status(), absl::InfinitePast());
        }
        *action = cancelled->first;
        const bool at_once = cancelled->first == CancelAction::kLeftRunning ||
                             cancelled->first == CancelAction::kAlreadyDone;
        reactor->Begin(std::move(cancelled->second),
                       at_once ? absl::InfinitePast() : absl::Now() + grace);
      });
  return reactor;
}

void ExecutorService::FindAnywhere(
    const google::protobuf::RepeatedPtrField<std::string>& ids,
    const std::string& principal, RemoteFutures::Found found) {
  if (absl::Status count = CheckIdCount(ids.size(), options_.max_ids_per_call);
      !count.ok()) {
    return std::move(found)(count);
  }
  std::vector<std::string> distinct;
  absl::flat_hash_set<std::string> seen;
  for (const std::string& id : ids) {
    if (absl::Status valid = ValidateFutureId(id); !valid.ok()) {
      return std::move(found)(valid);
    }
    if (seen.insert(id).second) distinct.push_back(id);
  }
  engine_->FindAnywhere(std::move(distinct), principal, std::move(found));
}

grpc::ServerWriteReactor<v1::AsCompletedResponse>* ExecutorService::AsCompleted(
    grpc::CallbackServerContext* context,
    const v1::AsCompletedRequest* request) {
  using Failed = FailedStream<v1::AsCompletedResponse>;
  absl::StatusOr<std::string> caller = Caller(*context);
  if (!caller.ok()) return new Failed(caller.status());
  LogRequest(context, "AsCompleted", *caller,
             absl::StrCat(request->ids_size(), " ids"));
  absl::StatusOr<std::optional<absl::Duration>> timeout = TimeoutOf(*request);
  if (!timeout.ok()) return new Failed(ToGrpcStatus(timeout.status()));
  auto* reactor = new AsCompletedReactor(deps());
  if (!reactor->registered()) return reactor;
  FindAnywhere(request->ids(), *caller,
               [reactor, deadline = DeadlineAfter(*timeout)](
                   absl::StatusOr<std::vector<std::shared_ptr<Future>>>
                       futures) mutable {
                 reactor->Begin(std::move(futures), deadline);
               });
  return reactor;
}

grpc::ServerUnaryReactor* ExecutorService::Wait(
    grpc::CallbackServerContext* context, const v1::WaitRequest* request,
    v1::WaitResponse* response) {
  absl::StatusOr<std::string> caller = Caller(*context);
  if (!caller.ok()) return Answer(context, caller.status());
  LogRequest(context, "Wait", *caller,
             absl::StrCat(request->ids_size(), " ids"));
  absl::StatusOr<ReturnWhen> mode = FromProto(request->return_when());
  if (!mode.ok()) return Answer(context, mode.status());
  absl::StatusOr<std::optional<absl::Duration>> timeout = TimeoutOf(*request);
  if (!timeout.ok()) return Answer(context, timeout.status());
  auto* reactor = new WaitReactor(deps(), *mode, response);
  if (!reactor->registered()) return reactor;
  FindAnywhere(request->ids(), *caller,
               [reactor, deadline = DeadlineAfter(*timeout)](
                   absl::StatusOr<std::vector<std::shared_ptr<Future>>>
                       futures) mutable {
                 reactor->Begin(std::move(futures), deadline);
               });
  return reactor;
}

grpc::ServerWriteReactor<v1::MapResponse>* ExecutorService::Map(
    grpc::CallbackServerContext* context, const v1::MapRequest* request) {
  using Failed = FailedStream<v1::MapResponse>;
  absl::StatusOr<std::string> caller = CallerWhileAccepting(*context);
  if (!caller.ok()) return new Failed(caller.status());
  LogRequest(context, "Map", *caller,
             absl::StrCat(request->function(), " over ", request->inputs_size(),
                          " inputs"));
  if (request->inputs_size() > options_.max_map_inputs) {
    return new Failed(grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat(request->inputs_size(), " map inputs; at most ",
                     options_.max_map_inputs, " allowed (--max_map_inputs)")));
  }
  absl::StatusOr<std::optional<absl::Duration>> timeout = TimeoutOf(*request);
  if (!timeout.ok()) return new Failed(ToGrpcStatus(timeout.status()));
  // Bind every input before anything runs. An input whose arguments do not
  // fit gets a failed future at its position, as Python's map raises there;
  // an unknown function or pool fails the call.
  std::vector<std::shared_ptr<Future>> futures(request->inputs_size());
  std::vector<PreparedCall> calls;
  calls.reserve(request->inputs_size());
  const google::protobuf::Struct no_kwargs;
  const absl::Time now = absl::Now();
  for (int i = 0; i < request->inputs_size(); ++i) {
    const google::protobuf::Value& input = request->inputs(i);
    google::protobuf::RepeatedPtrField<google::protobuf::Value> args;
    if (request->spread_inputs() && input.has_list_value()) {
      args = input.list_value().values();
    } else {
      *args.Add() = input;
    }
    absl::StatusOr<PreparedCall> call =
        engine_->Prepare(request->function(), args, no_kwargs, request->pool());
    if (call.ok()) {
      calls.push_back(*std::move(call));
    } else if (IsInputError(*request, args, call.status(),
                            engine_->argument_limits())) {
      futures[i] = FailedMapInput(call.status(), request->function(),
                                  request->pool(), now);
    } else {
      return new Failed(ToGrpcStatus(absl::Status(
          call.status().code(),
          absl::StrCat("input ", i, ": ", call.status().message()))));
    }
  }
  // Start the others all, or none.
  absl::StatusOr<std::vector<std::shared_ptr<Future>>> started =
      engine_->StartAll(std::move(calls), std::nullopt, Tracking::kPrivate,
                        *caller);
  if (!started.ok()) return new Failed(ToGrpcStatus(started.status()));
  auto next = started->begin();
  for (std::shared_ptr<Future>& future : futures) {
    if (future == nullptr) future = std::move(*next++);
  }
  return new MapReactor(deps(), std::move(futures), DeadlineAfter(*timeout));
}

grpc::ServerUnaryReactor* ExecutorService::Release(
    grpc::CallbackServerContext* context, const v1::ReleaseRequest* request,
    v1::ReleaseResponse* response) {
  absl::StatusOr<std::string> caller = Caller(*context);
  if (!caller.ok()) return Answer(context, caller.status());
  absl::Status count =
      CheckIdCount(request->ids_size(), options_.max_ids_per_call);
  if (!count.ok()) return Answer(context, count);
  for (const std::string& id : request->ids()) {
    if (absl::Status valid = ValidateFutureId(id); !valid.ok()) {
      return Answer(context, valid);
    }
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Inline, unless some are other nodes' (then on the cluster bus's thread).
  engine_->ReleaseAnywhere(
      std::vector<std::string>(request->ids().begin(), request->ids().end()),
      *std::move(caller),
      [context, reactor, response](absl::StatusOr<int64_t> released) {
        if (!released.ok()) {
          return FinishCall(context, reactor, ToGrpcStatus(released.status()));
        }
        response->set_released(*released);
        FinishCall(context, reactor, grpc::Status::OK);
      });
  return reactor;
}

grpc::ServerUnaryReactor* ExecutorService::ListFunctions(
    grpc::CallbackServerContext* context,
    const v1::ListFunctionsRequest* request,
    v1::ListFunctionsResponse* response) {
  absl::StatusOr<std::string> caller = Caller(*context);
  if (!caller.ok()) return Answer(context, caller.status());
  for (const TaskSpec* spec : engine_->Functions()) {
    ToProto(*spec, response->add_functions());
  }
  return Answer(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* ExecutorService::GetStats(
    grpc::CallbackServerContext* context, const v1::GetStatsRequest* request,
    v1::GetStatsResponse* response) {
  absl::StatusOr<std::string> caller = Caller(*context);
  if (!caller.ok()) return Answer(context, caller.status());
  for (const PoolStats& stats : engine_->PoolStatistics()) {
    ToProto(stats, response->add_pools());
  }
  for (const FunctionStats& stats : engine_->FunctionStatistics()) {
    ToProto(stats, response->add_functions());
  }
  response->set_futures(engine_->FutureCount());
  response->set_waiting_calls(waiting_.size());
  if (std::optional<JournalStats> journal = engine_->JournalStatistics()) {
    ToProto(*journal, response->mutable_journal());
  }
  if (options_.cluster != nullptr) {
    ToProto(options_.cluster->Snapshot(), response->mutable_cluster());
  }
  response->set_version(options_.version);
  ToProto(start_time_, response->mutable_start_time());
  return Answer(context, grpc::Status::OK);
}

grpc::ServerBidiReactor<v1::WatchRequest, v1::WatchResponse>*
ExecutorService::Watch(grpc::CallbackServerContext* context) {
  using Failed =
      FailedCall<grpc::ServerBidiReactor<v1::WatchRequest, v1::WatchResponse>>;
  absl::StatusOr<std::string> caller = Caller(*context);
  if (!caller.ok()) return new Failed(caller.status());
  return new WatchReactor(deps(), engine_, options_.max_ids_per_call,
                          *std::move(caller));
}

grpc::ServerWriteReactor<v1::FutureInfo>* ExecutorService::FollowProgress(
    grpc::CallbackServerContext* context,
    const v1::FollowProgressRequest* request) {
  using Failed = FailedStream<v1::FutureInfo>;
  absl::StatusOr<std::shared_ptr<Future>> future =
      CallersFuture(context, "FollowProgress", request->id());
  if (!future.ok()) return new Failed(future.status());
  absl::StatusOr<std::optional<absl::Duration>> timeout = TimeoutOf(*request);
  if (!timeout.ok()) return new Failed(ToGrpcStatus(timeout.status()));
  grpc::Status on_timeout(
      grpc::StatusCode::DEADLINE_EXCEEDED,
      absl::StrCat(
          "future ", request->id(), " is not done after ",
          absl::FormatDuration(timeout->value_or(absl::ZeroDuration()))));
  return new ProgressReactor(deps(), *std::move(future),
                             DeadlineAfter(*timeout), std::move(on_timeout));
}

}  // namespace futured::server::rpc
