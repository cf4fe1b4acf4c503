// The Executor service's calls about futures that exist already: GetFuture,
// Result, Cancel, AsCompleted, Wait, Release, Watch and FollowProgress.
// executor_service.cc has the calls that start work.
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
#include "server/rpc/as_completed_reactor.h"
#include "server/rpc/call_answers.h"
#include "server/rpc/executor_service.h"
#include "server/rpc/future_reactor.h"
#include "server/rpc/progress_reactor.h"
#include "server/rpc/proto_convert.h"
#include "server/rpc/wait_reactor.h"
#include "server/rpc/watch_reactor.h"

namespace futured::server::rpc {
namespace {

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

// The answer when a call's `timeout` passes before future `id` is done.
grpc::Status NotDoneAfter(const std::string& id,
                          std::optional<absl::Duration> timeout) {
  return grpc::Status(
      grpc::StatusCode::DEADLINE_EXCEEDED,
      absl::StrCat(
          "future ", id, " is not done after ",
          absl::FormatDuration(timeout.value_or(absl::ZeroDuration()))));
}

}  // namespace

absl::StatusOr<std::shared_ptr<Future>> ExecutorService::CallersFuture(
    grpc::CallbackServerContext* context, absl::string_view method,
    const std::string& id) const {
  absl::StatusOr<std::string> caller = Caller(*context);
  if (!caller.ok()) return caller.status();
  LogRequest(context, method, *caller, id);
  return FindFuture(*engine_, id, *caller);
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
  auto* reactor =
      new FutureReactor(deps(), NotDoneAfter(request->id(), *timeout),
                        [response](const FutureSnapshot& snapshot) {
                          ToProto(snapshot, response);
                        });
  if (!reactor->registered()) return reactor;
  BeginWhenFound(request->id(), *caller, DeadlineAfter(*timeout), reactor);
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

template <typename Reactor>
void ExecutorService::BeginWhenFound(
    const google::protobuf::RepeatedPtrField<std::string>& ids,
    const std::string& principal, absl::Time deadline, Reactor* reactor) {
  FindAnywhere(
      ids, principal,
      [reactor, deadline](absl::StatusOr<std::vector<std::shared_ptr<Future>>>
                              futures) mutable {
        reactor->Begin(std::move(futures), deadline);
      });
}

template <typename Reactor>
void ExecutorService::BeginWhenFound(const std::string& id,
                                     const std::string& principal,
                                     absl::Time deadline, Reactor* reactor) {
  google::protobuf::RepeatedPtrField<std::string> ids;
  ids.Add()->assign(id);
  FindAnywhere(
      ids, principal,
      [reactor, deadline](absl::StatusOr<std::vector<std::shared_ptr<Future>>>
                              futures) mutable {
        if (!futures.ok()) {
          return reactor->Begin(futures.status(), deadline);
        }
        reactor->Begin(std::move(futures->front()), deadline);
      });
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
  BeginWhenFound(request->ids(), *caller, DeadlineAfter(*timeout), reactor);
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
  BeginWhenFound(request->ids(), *caller, DeadlineAfter(*timeout), reactor);
  return reactor;
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
  absl::StatusOr<std::string> caller = Caller(*context);
  if (!caller.ok()) return new Failed(caller.status());
  LogRequest(context, "FollowProgress", *caller, request->id());
  absl::StatusOr<std::optional<absl::Duration>> timeout = TimeoutOf(*request);
  if (!timeout.ok()) return new Failed(ToGrpcStatus(timeout.status()));
  auto* reactor =
      new ProgressReactor(deps(), NotDoneAfter(request->id(), *timeout));
  if (!reactor->registered()) return reactor;
  BeginWhenFound(request->id(), *caller, DeadlineAfter(*timeout), reactor);
  return reactor;
}

}  // namespace futured::server::rpc
