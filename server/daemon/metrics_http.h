// The Prometheus endpoint: GET /metrics over plain HTTP on its own port.
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

// Serves `render()`'s text at /metrics (and 404 elsewhere) on one thread of
// its own, apart from gRPC. Start() binds before it returns, so a scrape
// right after succeeds. The destructor stops and joins it. `render` runs on
// the server's thread and must be thread-safe.
class MetricsHttpServer {
 public:
  // `listen` is host:port (port 0: any free port; an IPv6 host in [ ]).
  // INVALID_ARGUMENT for a malformed address, UNAVAILABLE if it cannot bind.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Start(
      const std::string& listen, std::function<std::string()> render);

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
