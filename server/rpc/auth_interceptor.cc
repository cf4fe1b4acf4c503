#include "server/rpc/auth_interceptor.h"

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace futured::server::rpc {
namespace {

using grpc::experimental::InterceptionHookPoints;

// Paths whose handlers need no check here: futured.v1 checks for itself;
// health and reflection are open (they reveal no future, and a load
// balancer's probe, or grpcurl finding Health's descriptor, has no token).
// grpcurl asks grpc.reflection.v1 first and falls back to v1alpha only on
// the UNIMPLEMENTED that the unregistered v1 gets, not on a cancel.
bool Exempt(absl::string_view method) {
  return absl::StartsWith(method, "/futured.v1.") ||
         absl::StartsWith(method, "/grpc.health.v1.Health/") ||
         absl::StartsWith(method,
                          "/grpc.reflection.v1alpha.ServerReflection/") ||
         absl::StartsWith(method, "/grpc.reflection.v1.ServerReflection/");
}

// One call's check, once its initial metadata has arrived.
class AuthInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuthInterceptor(grpc::experimental::ServerRpcInfo* info,
                  const CallerPolicy* policy)
      : info_(info), policy_(policy) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      Check(*methods->GetRecvInitialMetadata());
    }
    methods->Proceed();
  }

 private:
  void Check(const ClientMetadata& metadata) {
    grpc::ServerContextBase* context = info_->server_context();
    const std::shared_ptr<const grpc::AuthContext> auth =
        context->auth_context();
    absl::StatusOr<std::string> principal =
        CallerPrincipal(metadata, auth.get(), *policy_);
    if (principal.ok()) return;
    if (LogEnabled(LogLevel::kDebug)) {
      Log(LogLevel::kDebug,
          absl::StrCat(info_->method(), " from ", context->peer(),
                       " cancelled: ", principal.status().message()));
    }
    context->TryCancel();
  }

  grpc::experimental::ServerRpcInfo* const info_;
  const CallerPolicy* const policy_;
};

}  // namespace

grpc::experimental::Interceptor*
AuthInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  if (Exempt(info->method())) return nullptr;
  return new AuthInterceptor(info, &policy_);
}

}  // namespace futured::server::rpc
