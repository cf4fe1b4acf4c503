#include "futured/future.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "future_proxy.h"
#include "futured/errors.h"
#include "info_convert.h"

namespace futured {
namespace {

internal::FutureProxy& Checked(
    const std::shared_ptr<internal::FutureProxy>& proxy) {
  if (proxy == nullptr) throw Error("an invalid (default-constructed) Future");
  return *proxy;
}

}  // namespace

const std::string& FutureBase::id() const {
  static const std::string* const kNoId = new std::string();
  return proxy_ == nullptr ? *kNoId : proxy_->id();
}

bool FutureBase::cancel() const { return Checked(proxy_).Cancel(); }

bool FutureBase::cancelled() const {
  return Checked(proxy_).Snapshot().state() == v1::FUTURE_STATE_CANCELLED;
}

bool FutureBase::running() const {
  internal::FutureProxy& proxy = Checked(proxy_);
  if (proxy.KnownDone()) {
    proxy.Final();  // Throws RpcError if lost.
    return false;
  }
  return proxy.Snapshot().state() == v1::FUTURE_STATE_RUNNING;
}

bool FutureBase::done() const {
  internal::FutureProxy& proxy = Checked(proxy_);
  if (proxy.KnownDone()) {
    proxy.Final();  // Throws RpcError if lost.
    return true;
  }
  return proxy.Snapshot().done();
}

std::optional<TaskError> FutureBase::exception(absl::Duration timeout) const {
  v1::FutureInfo info = Checked(proxy_).AwaitFinal(timeout);
  try {
    internal::OutcomeValueOrThrow(info);
  } catch (const TaskError& error) {
    return error;
  }
  return std::nullopt;
}

FutureInfo FutureBase::info() const {
  return internal::FromProto(Checked(proxy_).Snapshot());
}

std::optional<Progress> FutureBase::progress() const { return info().progress; }

FutureInfo FutureBase::follow(
    const std::function<void(const FutureInfo&)>& on_change,
    absl::Duration timeout) const {
  return internal::FromProto(Checked(proxy_).Follow(
      [&on_change](const v1::FutureInfo& info) {
        on_change(internal::FromProto(info));
      },
      timeout));
}

Value FutureBase::ResultValue(absl::Duration timeout) const {
  return internal::OutcomeValueOrThrow(Checked(proxy_).AwaitFinal(timeout));
}

void FutureBase::AddDoneCallback(
    std::function<void(const std::shared_ptr<internal::FutureProxy>&)> callback)
    const {
  Checked(proxy_).AddCallback(std::move(callback));
}

}  // namespace futured
