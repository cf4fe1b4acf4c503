// Credentials for the gRPC services futured does not implement itself.
#ifndef FUTURED_SERVER_RPC_AUTH_INTERCEPTOR_H_
#define FUTURED_SERVER_RPC_AUTH_INTERCEPTOR_H_

#include "grpcpp/support/server_interceptor.h"
#include "server/rpc/caller.h"

namespace futured::server::rpc {

// Makes any service registered beside futured.v1, health and reflection
// (e.g. by a plugin of gRPC's) require the same credentials as futured.v1.
// futured.v1's own handlers check credentials themselves and answer
// UNAUTHENTICATED; health and reflection stay open, for probes and for
// grpcurl, which reads Health's descriptor through reflection before it
// calls Health/Check (neither reveals a future). gRPC 1.51's server
// interceptors cannot answer a call with a status of their own, so a call
// without valid credentials is cancelled (the client sees CANCELLED) before its
// handler reads anything. Install only when `policy.enabled()`. Thread-safe.
class AuthInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit AuthInterceptorFactory(CallerPolicy policy)
      : policy_(std::move(policy)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  const CallerPolicy policy_;
};

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_AUTH_INTERCEPTOR_H_
