#include "client_core.h"

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "info_convert.h"
#include "rpc_status.h"

namespace futured::internal {
namespace {

std::shared_ptr<grpc::Channel> NewChannel(const std::string& target) {
  grpc::ChannelArguments args;
  // Results may be large (factorial); the daemon bounds what it sends.
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(),
                                   args);
}

}  // namespace

ClientCore::ClientCore(std::string target, ClientOptions options)
    : target_(std::move(target)),
      options_(options),
      channel_(NewChannel(target_)),
      stub_(v1::Executor::NewStub(channel_)),
      watcher_(stub_.get()) {}

ClientCore::~ClientCore() { Close(); }

grpc::Status ClientCore::Submit(const Call& call, std::string_view pool,
                                std::string* id) const {
  v1::SubmitRequest request;
  request.set_function(call.function());
  for (const Value& arg : call.args()) *request.add_args() = arg;
  *request.mutable_kwargs() = call.kwargs();
  request.set_pool(std::string(pool));
  if (call.timeout().has_value()) {
    *request.mutable_timeout() = ToProtoDuration(*call.timeout());
  }
  grpc::ClientContext context;
  SetCallDeadline(&context);
  v1::SubmitResponse response;
  grpc::Status status = stub_->Submit(&context, request, &response);
  if (status.ok()) *id = response.id();
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
