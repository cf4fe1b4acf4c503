// The daemon's HTTP listener: GET /metrics (Prometheus) over plain HTTP on
// its own port, and whatever else is added to it (the dashboard).
#ifndef FUTURED_SERVER_DAEMON_METRICS_HTTP_H_
#define FUTURED_SERVER_DAEMON_METRICS_HTTP_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace futured::server {

// Serves `render()`'s text at /metrics, and the routes `add_routes` adds
// (404 elsewhere), on a few threads of its own, apart from gRPC. Start()
// binds before it returns, so a scrape right after succeeds. The destructor
// stops and joins it. `render` and the added handlers run on the server's
// threads and must be thread-safe.
class MetricsHttpServer {
 public:
  // `listen` is host:port (port 0: any free port; an IPv6 host in [ ]).
  // INVALID_ARGUMENT for a malformed address, UNAVAILABLE if it cannot bind.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& listen, std::function<std::string()> render,
      const std::function<void(httplib::Server&)>& add_routes = nullptr);

  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // "http://127.0.0.1:9464/metrics", with the port bound.
  const std::string& url() const { return url_; }

 private:
  MetricsHttpServer() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::string url_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_DAEMON_METRICS_HTTP_H_
