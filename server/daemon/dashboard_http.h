// The dashboard: a page and JSON endpoints on the daemon's HTTP listener
// (metrics_http.h), showing the pools, workers, functions and futures, and
// cancelling a future on request.
#ifndef FUTURED_SERVER_DAEMON_DASHBOARD_HTTP_H_
#define FUTURED_SERVER_DAEMON_DASHBOARD_HTTP_H_

#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "server/daemon/dashboard_figures.h"
#include "server/engine/engine.h"
#include "server/rpc/caller.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace futured::server {

struct DashboardOptions {
  // With tokens, every /api/ request needs `Authorization: Bearer <token>`
  // and sees only its principal's futures; without, it is the anonymous
  // principal "", as gRPC calls are. With client certificates but no
  // tokens the dashboard cannot tell who asks: /api/ answers 401.
  rpc::CallerPolicy policy;
  // This principal sees every principal's futures (empty: none does). It
  // may cancel only its own, as with the Cancel RPC.
  std::string operator_principal;
  // Without tokens, requests whose Host is not a loopback name are refused
  // (a page elsewhere cannot reach the API through DNS rebinding), unless
  // the operator allowed other hosts.
  bool allow_remote = false;
  absl::Time start_time;
  std::string version;
};

// Whether the dashboard may be served on `listen` (host:port): with bearer
// tokens, or with --dashboard_allow_remote, anywhere; otherwise only on a
// loopback address. The /metrics endpoint is not concerned.
bool DashboardAllowedOn(const std::string& listen,
                        const DashboardOptions& options);

// Serves GET / (the page and its assets), GET /api/overview, GET
// /api/futures?state=&function=&limit=, GET /api/futures/<id> and POST
// /api/futures/<id>/cancel. Every handler does bounded work: the futures
// listed are at most the table's recent ring (FutureTable::Recent), each
// snapshot under its future's lock only; no engine lock is held across a
// task. Bad input answers 400 or 404 with {"error": ...}.
//
// A thread of its own samples the engine's done count once a second for
// the throughput plot. Thread-safe; `engine` must outlive it, and the
// server it adds routes to must stop before it is destroyed.
class Dashboard {
 public:
  Dashboard(const Engine* engine, DashboardOptions options);
  ~Dashboard();  // stops and joins the sampler
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  void AddRoutes(httplib::Server& server);

 private:
  // Who asks, and what they may see.
  struct Viewer {
    std::string principal;
    bool sees_all = false;
    // For the table's lookups: nullopt when the viewer sees every owner.
    std::optional<absl::string_view> scope() const {
      if (sees_all) return std::nullopt;
      return principal;
    }
  };

  // The viewer of `request`, or the status to answer (401, 403).
  absl::StatusOr<Viewer> Authenticate(const httplib::Request& request) const;
  // Authenticate() and, on failure, the JSON error answer.
  std::optional<Viewer> Admit(const httplib::Request& request,
                              httplib::Response& response) const;

  void Overview(const httplib::Request& request,
                httplib::Response& response) const;
  void ListFutures(const httplib::Request& request,
                   httplib::Response& response) const;
  void ShowFuture(const httplib::Request& request,
                  httplib::Response& response) const;
  void CancelFuture(const httplib::Request& request,
                    httplib::Response& response) const;

  void SampleLoop();

  const Engine* const engine_;
  const DashboardOptions options_;
  ThroughputHistory throughput_;
  absl::Notification stop_;
  std::thread sampler_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_DAEMON_DASHBOARD_HTTP_H_
