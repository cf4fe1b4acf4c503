#include "futured/channel.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "grpcpp/support/client_interceptor.h"

namespace futured {
namespace {

using grpc::experimental::ClientInterceptorFactoryInterface;
using grpc::experimental::ClientRpcInfo;
using grpc::experimental::InterceptionHookPoints;
using grpc::experimental::Interceptor;
using grpc::experimental::InterceptorBatchMethods;

// Adds `authorization: Bearer <token>` to a call's initial metadata. gRPC's
// own AccessTokenCredentials would do it over TLS only; the daemon accepts
// tokens over plaintext too (loopback, unix sockets).
class BearerTokenInterceptor final : public Interceptor {
 public:
  explicit BearerTokenInterceptor(const std::string* header)
      : header_(header) {}

  void Intercept(InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", *header_});
    }
    methods->Proceed();
  }

 private:
  const std::string* const header_;  // owned by the factory
};

// Owned by the channel, which outlives its calls' interceptors.
class BearerTokenInterceptorFactory final
    : public ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenInterceptorFactory(const std::string& token)
      : header_("Bearer " + token) {}

  Interceptor* CreateClientInterceptor(ClientRpcInfo* info) override {
    return new BearerTokenInterceptor(&header_);
  }

 private:
  const std::string header_;
};

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(
    const Credentials& credentials) {
  if (!credentials.tls.has_value()) return grpc::InsecureChannelCredentials();
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = credentials.tls->root_certs_pem;
  ssl.pem_cert_chain = credentials.tls->client_cert_pem;
  ssl.pem_private_key = credentials.tls->client_key_pem;
  return grpc::SslCredentials(ssl);
}

}  // namespace

std::shared_ptr<grpc::Channel> NewChannel(const std::string& target,
                                          const ClientOptions& options) {
  grpc::ChannelArguments args;
  // Results may be large (factorial); the daemon bounds what it sends.
  args.SetMaxReceiveMessageSize(-1);
  const Credentials& credentials = options.credentials;
  if (credentials.bearer_token.empty()) {
    return grpc::CreateCustomChannel(target, ChannelCredentials(credentials),
                                     args);
  }
  std::vector<std::unique_ptr<ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<BearerTokenInterceptorFactory>(
      credentials.bearer_token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      target, ChannelCredentials(credentials), args, std::move(interceptors));
}

}  // namespace futured
