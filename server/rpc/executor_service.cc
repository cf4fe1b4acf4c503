// The Executor service: its set-up, and the calls that start work (Submit,
// SubmitBatch, Run, Map) or describe the daemon (ListFunctions, GetStats).
// executor_service_futures.cc has the calls about existing futures.
#include "server/rpc/executor_service.h"

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "google/protobuf/descriptor.h"
#include "server/engine/argument_limits.h"
#include "server/rpc/call_answers.h"
#include "server/rpc/future_reactor.h"
#include "server/rpc/map_reactor.h"
#include "server/rpc/parsing_handler.h"
#include "server/rpc/proto_convert.h"

namespace futured::server::rpc {
namespace {

const grpc::Status kShuttingDown(grpc::StatusCode::UNAVAILABLE,
                                 "futured is shutting down");

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

}  // namespace futured::server::rpc
