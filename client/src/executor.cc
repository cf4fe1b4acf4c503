#include "futured/executor.h"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "executor_core.h"
#include "futured/errors.h"
#include "info_convert.h"

namespace futured {
namespace {

internal::ExecutorCore& Checked(
    const std::shared_ptr<internal::ExecutorCore>& core) {
  if (core == nullptr) throw Error("a moved-from Executor");
  return *core;
}

}  // namespace

Executor::Executor(std::shared_ptr<internal::ExecutorCore> core)
    : core_(std::move(core)) {}

Executor::Executor(Executor&&) noexcept = default;

Executor& Executor::operator=(Executor&& other) noexcept {
  if (this != &other) {
    Executor old(std::move(*this));  // Shuts down as it goes out of scope.
    core_ = std::move(other.core_);
  }
  return *this;
}

Executor::~Executor() {
  if (core_ == nullptr) return;
  try {
    core_->Shutdown(/*wait=*/true, /*cancel_futures=*/false);
  } catch (const Error&) {
    // A destructor does not throw; the daemon is unreachable or gone.
  }
}

const std::string& Executor::pool() const { return Checked(core_).pool(); }

void Executor::shutdown(bool wait, bool cancel_futures) {
  Checked(core_).Shutdown(wait, cancel_futures);
}

std::shared_ptr<internal::FutureProxy> Executor::Submit(const Call& call) {
  return Checked(core_).Submit(call);
}

Value Executor::Run(const Call& call) {
  return internal::OutcomeValueOrThrow(Checked(core_).Run(call));
}

std::vector<std::shared_ptr<internal::FutureProxy>> Executor::SubmitBatch(
    const std::vector<Call>& calls) {
  return Checked(core_).SubmitBatch(calls);
}

std::unique_ptr<internal::MapStream> Executor::NewMapStream(
    std::string_view function, internal::MapStream::InputSource inputs,
    const MapOptions& options) {
  Checked(core_);
  return std::make_unique<internal::MapStream>(core_, std::string(function),
                                               std::move(inputs), options);
}

}  // namespace futured
