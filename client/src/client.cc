#include "futured/client.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client_core.h"
#include "executor_core.h"
#include "future_proxy.h"
#include "futured/errors.h"
#include "info_convert.h"
#include "rpc_status.h"

namespace futured {
namespace {

internal::ClientCore& Checked(
    const std::shared_ptr<internal::ClientCore>& core) {
  if (core == nullptr) throw Error("a moved-from Client");
  return *core;
}

}  // namespace

Client::Client(std::string target, ClientOptions options)
    : core_(
          std::make_shared<internal::ClientCore>(std::move(target), options)) {}

Client::~Client() {
  if (core_ != nullptr) core_->Close();
}

Client::Client(Client&&) noexcept = default;

Client& Client::operator=(Client&& other) noexcept {
  if (this != &other) {
    if (core_ != nullptr) core_->Close();
    core_ = std::move(other.core_);
  }
  return *this;
}

const std::string& Client::target() const { return Checked(core_).target(); }

Executor Client::executor(std::string pool) const {
  Checked(core_);
  return Executor(
      std::make_shared<internal::ExecutorCore>(core_, std::move(pool)));
}

std::shared_ptr<internal::FutureProxy> Client::NewProxy(std::string id) const {
  Checked(core_);
  return std::make_shared<internal::FutureProxy>(core_, std::move(id));
}

std::shared_ptr<internal::FutureProxy> Client::SubmitUntracked(
    const Call& call, std::string_view pool) const {
  internal::ClientCore& core = Checked(core_);
  std::string id;
  internal::ThrowIfFailed(core.Submit(call, pool, &id));
  return std::make_shared<internal::FutureProxy>(core_, std::move(id));
}

int64_t Client::release(const std::vector<std::string>& ids) const {
  internal::ClientCore& core = Checked(core_);
  v1::ReleaseRequest request;
  for (const std::string& id : ids) request.add_ids(id);
  grpc::ClientContext context;
  core.SetCallDeadline(&context);
  v1::ReleaseResponse response;
  internal::ThrowIfFailed(core.stub().Release(&context, request, &response));
  return response.released();
}

std::vector<FunctionInfo> Client::functions() const {
  internal::ClientCore& core = Checked(core_);
  grpc::ClientContext context;
  core.SetCallDeadline(&context);
  v1::ListFunctionsResponse response;
  internal::ThrowIfFailed(core.stub().ListFunctions(
      &context, v1::ListFunctionsRequest(), &response));
  std::vector<FunctionInfo> functions;
  for (const v1::FunctionInfo& f : response.functions()) {
    functions.push_back(internal::FromProto(f));
  }
  return functions;
}

Stats Client::stats() const {
  internal::ClientCore& core = Checked(core_);
  grpc::ClientContext context;
  core.SetCallDeadline(&context);
  v1::GetStatsResponse response;
  internal::ThrowIfFailed(
      core.stub().GetStats(&context, v1::GetStatsRequest(), &response));
  return internal::FromProto(response);
}

bool Client::wait_for_connected(absl::Duration timeout) const {
  return Checked(core_).channel().WaitForConnected(
      absl::ToChronoTime(absl::Now() + timeout));
}

}  // namespace futured
