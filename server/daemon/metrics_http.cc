#include "server/daemon/metrics_http.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "httplib.h"

namespace futured::server {
namespace {

constexpr int kStartPolls = 5000;  // of 1 ms
constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";
// Threads serving connections: a scraper and a few browsers polling at once.
// A kept-alive idle connection holds one, so keep-alive is short.
constexpr int kThreads = 4;
constexpr time_t kKeepAliveSeconds = 2;
constexpr size_t kMaxRequestBodyBytes = 4096;  // no endpoint reads a body

struct HostPort {
  std::string host;
  int port = 0;
};

absl::StatusOr<HostPort> SplitHostPort(absl::string_view listen) {
  const size_t colon = listen.rfind(':');
  HostPort result;
  absl::string_view host = listen.substr(0, colon);
  if (colon == absl::string_view::npos || host.empty() ||
      !absl::SimpleAtoi(listen.substr(colon + 1), &result.port) ||
      result.port < 0 || result.port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "metrics address '", listen, "' is not host:port (port 0-65535)"));
  }
  if (absl::ConsumePrefix(&host, "[")) absl::ConsumeSuffix(&host, "]");
  result.host = std::string(host);
  return result;
}

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Start(
    const std::string& listen, std::function<std::string()> render,
    const std::function<void(httplib::Server&)>& add_routes) {
  absl::StatusOr<HostPort> address = SplitHostPort(listen);
  if (!address.ok()) return address.status();
  std::unique_ptr<MetricsHttpServer> metrics(new MetricsHttpServer());
  metrics->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *metrics->server_;
  server.new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  server.set_keep_alive_timeout(kKeepAliveSeconds);
  // Headers and body go out in two writes: without this the body waits for
  // the client's delayed ACK (~40 ms a request).
  server.set_tcp_nodelay(true);
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);
  server.set_payload_max_length(kMaxRequestBodyBytes);
  server.Get("/metrics", [render = std::move(render)](const httplib::Request&,
                                                      httplib::Response& res) {
    res.set_content(render(), kContentType);
  });
  if (add_routes) add_routes(server);
  const int port =
      address->port == 0
          ? server.bind_to_any_port(address->host)
          : (server.bind_to_port(address->host, address->port) ? address->port
                                                               : -1);
  if (port <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for metrics on ", listen));
  }
  const std::string host = absl::StrContains(address->host, ':')
                               ? absl::StrCat("[", address->host, "]")
                               : address->host;
  metrics->url_ = absl::StrCat("http://", host, ":", port, "/metrics");
  metrics->thread_ = std::thread([&server] { server.listen_after_bind(); });
  // stop() does nothing to a server that is not running yet, so the
  // destructor could not end it: wait (bounded) until it runs.
  for (int i = 0; i < kStartPolls && !server.is_running(); ++i) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  if (!server.is_running()) {
    return absl::UnavailableError(
        absl::StrCat("the metrics server on ", listen, " did not start"));
  }
  return metrics;
}

MetricsHttpServer::~MetricsHttpServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace futured::server
