#include "client_core.h"

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "futured/channel.h"
#include "grpcpp/grpcpp.h"
#include "info_convert.h"
#include "rpc_status.h"

namespace futured::internal {
namespace {

v1::SubmitRequest ToSubmitRequest(const Call& call, std::string_view pool) {
  v1::SubmitRequest request;
  request.set_function(call.function());
  request.mutable_args()->Add(call.args().begin(), call.args().end());
  *request.mutable_kwargs() = call.kwargs();
  request.set_pool(std::string(pool));
  if (call.timeout().has_value()) {
    *request.mutable_timeout() = ToProtoDuration(*call.timeout());
  }
  request.set_request_id(call.request_id());
  if (const std::optional<RetryPolicy>& retry = call.retry()) {
    v1::RetryPolicy* policy = request.mutable_retry_policy();
    policy->set_max_attempts(retry->max_attempts);
    for (const std::string& type : retry->retry_on) policy->add_retry_on(type);
    *policy->mutable_initial_backoff() =
        ToProtoDuration(retry->initial_backoff);
    *policy->mutable_max_backoff() = ToProtoDuration(retry->max_backoff);
    policy->set_multiplier(retry->multiplier);
    policy->set_jitter(retry->jitter);
  }
  return request;
}

// Attempts of a Submit that carries a request_id (which makes repeating it
// safe) when one fails UNAVAILABLE, and the pause before the second; each
// further pause doubles. Matches the retry policy NewChannel gives the
// idempotent calls, which gRPC cannot apply to some Submits only.
constexpr int kSubmitAttempts = 5;
constexpr absl::Duration kSubmitBackoff = absl::Milliseconds(50);

}  // namespace

ClientCore::ClientCore(std::string target, ClientOptions options)
    : target_(std::move(target)),
      options_(options),
      channel_(NewChannel(target_, options_)),
      stub_(v1::Executor::NewStub(channel_)),
      watcher_(stub_.get()) {}

ClientCore::~ClientCore() { Close(); }

grpc::Status ClientCore::Submit(const Call& call, std::string_view pool,
                                std::string* id) const {
  const v1::SubmitRequest request = ToSubmitRequest(call, pool);
  const int attempts = request.request_id().empty() ? 1 : kSubmitAttempts;
  absl::Duration backoff = kSubmitBackoff;
  grpc::Status status;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    if (attempt > 1) {
      absl::SleepFor(backoff);
      backoff *= 2;
    }
    grpc::ClientContext context;
    SetCallDeadline(&context);
    v1::SubmitResponse response;
    status = stub_->Submit(&context, request, &response);
    if (status.ok()) *id = response.id();
    if (status.error_code() != grpc::StatusCode::UNAVAILABLE) break;
  }
  return status;
}

grpc::Status ClientCore::Run(const Call& call, std::string_view pool,
                             v1::FutureInfo* info) const {
  const v1::SubmitRequest request = ToSubmitRequest(call, pool);
  grpc::ClientContext context;
  SetWaitDeadline(&context, call.timeout().value_or(absl::InfiniteDuration()));
  return stub_->Run(&context, request, info);
}

grpc::Status ClientCore::SubmitBatch(
    absl::Span<const Call> calls, std::string_view pool,
    std::vector<absl::StatusOr<std::string>>* results) const {
  v1::SubmitBatchRequest request;
  request.mutable_requests()->Reserve(static_cast<int>(calls.size()));
  for (const Call& call : calls) {
    *request.add_requests() = ToSubmitRequest(call, pool);
  }
  grpc::ClientContext context;
  SetCallDeadline(&context);
  v1::SubmitBatchResponse response;
  grpc::Status status = stub_->SubmitBatch(&context, request, &response);
  if (!status.ok()) return status;
  if (response.results_size() != request.requests_size()) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "SubmitBatch answered a different number of calls");
  }
  results->clear();
  results->reserve(calls.size());
  for (v1::SubmitBatchResult& result : *response.mutable_results()) {
    if (result.code() == 0) {
      results->emplace_back(std::move(*result.mutable_id()));
    } else {
      results->emplace_back(absl::Status(
          static_cast<absl::StatusCode>(result.code()), result.message()));
    }
  }
  return status;
}

void ClientCore::SetCallDeadline(grpc::ClientContext* context) const {
  SetDeadline(context, options_.call_timeout);
}

void ClientCore::SetWaitDeadline(grpc::ClientContext* context,
                                 absl::Duration timeout) const {
  if (timeout < absl::ZeroDuration()) timeout = absl::ZeroDuration();
  SetDeadline(context, timeout + options_.call_timeout);
}

void ClientCore::Close() {
  watcher_.Close();
  callbacks_.Stop();
}

}  // namespace futured::internal
