#include "future_proxy.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "callback_thread.h"
#include "client_core.h"
#include "futured/errors.h"
#include "info_convert.h"
#include "rpc_status.h"

namespace futured::internal {

FutureProxy::FutureProxy(std::shared_ptr<ClientCore> core, std::string id)
    : core_(std::move(core)), id_(std::move(id)) {}

std::optional<v1::FutureInfo> FutureProxy::Final() const {
  absl::MutexLock lock(&mu_);
  if (lost_.has_value()) throw RpcError(*lost_);
  return final_;
}

bool FutureProxy::KnownDone() const {
  absl::MutexLock lock(&mu_);
  return known_done_;
}

bool FutureProxy::KnownFinal() const {
  absl::MutexLock lock(&mu_);
  return final_.has_value() || lost_.has_value();
}

void FutureProxy::Record(const v1::FutureInfo& info) {
  PostCallbacks(TakeFinal(info));
}

std::vector<FutureProxy::Callback> FutureProxy::TakeFinal(
    const v1::FutureInfo& info, bool by_canceller) {
  std::vector<Callback> callbacks;
  if (!info.done()) return callbacks;
  absl::MutexLock lock(&mu_);
  if (final_.has_value() || lost_.has_value()) return callbacks;
  final_ = info;
  known_done_ = true;
  if (cancelling_ > 0 && !by_canceller) {
    handed_over_.swap(callbacks_);
  } else {
    callbacks.swap(callbacks_);
  }
  return callbacks;
}

void FutureProxy::RecordDone() {
  absl::MutexLock lock(&mu_);
  known_done_ = true;
}

void FutureProxy::RecordLost(absl::Status status) {
  std::vector<Callback> callbacks;
  {
    absl::MutexLock lock(&mu_);
    if (final_.has_value() || lost_.has_value()) return;
    lost_ = std::move(status);
    known_done_ = true;
    callbacks.swap(callbacks_);
  }
  PostCallbacks(std::move(callbacks));
}

void FutureProxy::PostCallbacks(std::vector<Callback> callbacks) {
  if (callbacks.empty()) return;
  core_->Post([self = shared_from_this(), callbacks = std::move(callbacks)] {
    self->RunCallbacks(callbacks);
  });
}

void FutureProxy::RunCallbacks(const std::vector<Callback>& callbacks) {
  for (const Callback& callback : callbacks) {
    RunUserCallback([&] { callback(shared_from_this()); });
  }
}

v1::FutureInfo FutureProxy::AwaitFinal(absl::Duration timeout) {
  if (std::optional<v1::FutureInfo> info = Final()) return *std::move(info);
  v1::ResultRequest request;
  request.set_id(id_);
  if (timeout != absl::InfiniteDuration()) {
    *request.mutable_timeout() = ToProtoDuration(timeout);
  }
  grpc::ClientContext context;
  core_->SetWaitDeadline(&context, timeout);
  v1::FutureInfo info;
  grpc::Status status = core_->stub().Result(&context, request, &info);
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    throw TimeoutError(absl::StrCat("future ", id_, " not done after ",
                                    absl::FormatDuration(timeout)));
  }
  ThrowIfFailed(status);
  Record(info);
  return info;
}

v1::FutureInfo FutureProxy::Snapshot() {
  if (std::optional<v1::FutureInfo> info = Final()) return *std::move(info);
  v1::GetFutureRequest request;
  request.set_id(id_);
  grpc::ClientContext context;
  core_->SetCallDeadline(&context);
  v1::FutureInfo info;
  ThrowIfFailed(core_->stub().GetFuture(&context, request, &info));
  Record(info);
  return info;
}

v1::FutureInfo FutureProxy::Follow(
    const std::function<void(const v1::FutureInfo&)>& on_change,
    absl::Duration timeout) {
  if (std::optional<v1::FutureInfo> info = Final()) {
    on_change(*info);
    return *std::move(info);
  }
  v1::FollowProgressRequest request;
  request.set_id(id_);
  if (timeout != absl::InfiniteDuration()) {
    *request.mutable_timeout() = ToProtoDuration(timeout);
  }
  grpc::ClientContext context;
  core_->SetWaitDeadline(&context, timeout);
  std::unique_ptr<grpc::ClientReader<v1::FutureInfo>> reader =
      core_->stub().FollowProgress(&context, request);
  v1::FutureInfo info;
  v1::FutureInfo last;
  try {
    while (reader->Read(&info)) {
      on_change(info);
      last = info;
    }
  } catch (...) {
    context.TryCancel();
    while (reader->Read(&info)) {
    }
    reader->Finish();
    throw;
  }
  const grpc::Status status = reader->Finish();
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    throw TimeoutError(absl::StrCat("future ", id_, " not done after ",
                                    absl::FormatDuration(timeout)));
  }
  ThrowIfFailed(status);
  Record(last);
  return last;
}

bool FutureProxy::Cancel() {
  if (std::optional<v1::FutureInfo> info = Final()) {
    return info->state() == v1::FUTURE_STATE_CANCELLED;
  }
  return CallCancel(/*only_if_pending=*/false).cancelled();
}

void FutureProxy::CancelIfPending() {
  if (KnownDone()) return;
  CallCancel(/*only_if_pending=*/true);
}

v1::CancelResponse FutureProxy::CallCancel(bool only_if_pending) {
  v1::CancelRequest request;
  request.set_id(id_);
  request.set_only_if_pending(only_if_pending);
  grpc::ClientContext context;
  core_->SetCallDeadline(&context);
  v1::CancelResponse response;
  {
    absl::MutexLock lock(&mu_);
    ++cancelling_;
  }
  const grpc::Status status =
      core_->stub().Cancel(&context, request, &response);
  // As Python's cancel(), which runs the callbacks before it returns. The
  // daemon tells the Watch stream before it answers, so the stream may have
  // made the proxy final first: it then left the callbacks to this call.
  std::vector<Callback> callbacks;
  if (status.ok()) callbacks = TakeFinal(response.future(), true);
  {
    absl::MutexLock lock(&mu_);
    --cancelling_;
    for (Callback& callback : handed_over_) {
      callbacks.push_back(std::move(callback));
    }
    handed_over_.clear();
  }
  RunCallbacks(callbacks);
  ThrowIfFailed(status);
  return response;
}

void FutureProxy::AddCallback(Callback callback) {
  enum class Action { kKept, kRunNow, kFetchThenRun };
  Action action = Action::kKept;
  bool watch = false;
  {
    absl::MutexLock lock(&mu_);
    if (final_.has_value() || lost_.has_value()) {
      action = Action::kRunNow;
    } else if (known_done_) {
      action = Action::kFetchThenRun;
    } else {
      callbacks_.push_back(std::move(callback));
      watch = !std::exchange(watched_, true);
    }
  }
  switch (action) {
    case Action::kKept:
      if (watch) core_->Watch(shared_from_this());
      return;
    case Action::kFetchThenRun:
      Snapshot();  // Done, so this makes the proxy final.
      [[fallthrough]];
    case Action::kRunNow:
      RunUserCallback([&] { callback(shared_from_this()); });
      return;
  }
}

}  // namespace futured::internal
