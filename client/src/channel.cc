#include "futured/channel.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "grpc/grpc.h"
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

// gRPC's round_robin over every address the target names, and a retry, on
// another node, of a call that failed UNAVAILABLE (a node stopped or
// unreachable) where making the call twice does no harm. Submit and
// SubmitBatch are left out: a second Submit would run a second task (see
// ClientCore::Submit for one that carries a request_id). So are the
// streams, which the caller follows by ID instead.
constexpr char kServiceConfig[] = R"json({
  "loadBalancingConfig": [{"round_robin": {}}],
  "methodConfig": [{
    "name": [
      {"service": "futured.v1.Executor", "method": "GetFuture"},
      {"service": "futured.v1.Executor", "method": "Result"},
      {"service": "futured.v1.Executor", "method": "Wait"},
      {"service": "futured.v1.Executor", "method": "Cancel"},
      {"service": "futured.v1.Executor", "method": "Release"},
      {"service": "futured.v1.Executor", "method": "ListFunctions"},
      {"service": "futured.v1.Executor", "method": "GetStats"},
      {"service": "grpc.health.v1.Health", "method": "Check"}
    ],
    "retryPolicy": {
      "maxAttempts": 5,
      "initialBackoff": "0.05s",
      "maxBackoff": "1s",
      "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]
    }
  }]
})json";

// Whether `address` is "a.b.c.d:port" (true) or "[v6]:port" (false), or
// neither (nullopt).
std::optional<bool> IsIpv4Address(absl::string_view address) {
  if (absl::StartsWith(address, "[")) {
    if (absl::StrContains(address, "]:")) return false;
    return std::nullopt;
  }
  const size_t colon = address.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return std::nullopt;
  for (char c : address.substr(0, colon)) {
    if (!absl::ascii_isdigit(c) && c != '.') return std::nullopt;
  }
  return true;
}

}  // namespace

std::string ChannelTarget(const std::string& target, size_t rotate_by) {
  if (!absl::StrContains(target, ',') || absl::StrContains(target, "://") ||
      absl::StartsWith(target, "ipv4:") || absl::StartsWith(target, "ipv6:")) {
    return target;
  }
  std::vector<std::string> addresses =
      absl::StrSplit(target, ',', absl::SkipWhitespace());
  std::optional<bool> ipv4;
  for (std::string& address : addresses) {
    absl::StripAsciiWhitespace(&address);
    std::optional<bool> is_ipv4 = IsIpv4Address(address);
    if (!is_ipv4.has_value() || (ipv4.has_value() && *ipv4 != *is_ipv4)) {
      return target;  // gRPC's resolver then says what is wrong with it
    }
    ipv4 = is_ipv4;
  }
  std::rotate(addresses.begin(),
              addresses.begin() + rotate_by % addresses.size(),
              addresses.end());
  return absl::StrCat(ipv4.value_or(true) ? "ipv4:" : "ipv6:",
                      absl::StrJoin(addresses, ","));
}

std::shared_ptr<grpc::Channel> NewChannel(const std::string& target,
                                          const ClientOptions& options) {
  grpc::ChannelArguments args;
  // Results may be large (factorial); the daemon bounds what it sends.
  args.SetMaxReceiveMessageSize(-1);
  args.SetServiceConfigJSON(kServiceConfig);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  // A random first address: the first calls of a new channel go to the
  // first node that connects, so that short-lived clients (one futurectl
  // call each) spread too.
  const std::string channel_target =
      ChannelTarget(target, std::random_device()());
  const Credentials& credentials = options.credentials;
  if (credentials.bearer_token.empty()) {
    return grpc::CreateCustomChannel(channel_target,
                                     ChannelCredentials(credentials), args);
  }
  std::vector<std::unique_ptr<ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<BearerTokenInterceptorFactory>(
      credentials.bearer_token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      channel_target, ChannelCredentials(credentials), args,
      std::move(interceptors));
}

}  // namespace futured
