#include "server/daemon/dashboard_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "httplib.h"
#include "server/daemon/dashboard_assets.h"
#include "server/daemon/dashboard_json.h"
#include "server/rpc/server_security.h"

namespace futured::server {
namespace {

constexpr char kJson[] = "application/json; charset=utf-8";
constexpr absl::Duration kSampleInterval = absl::Seconds(1);
// A cancel must carry this header: a form on another site cannot send it,
// and a script there cannot without a CORS preflight, which is refused.
constexpr char kActionHeader[] = "X-Futured-Action";

int HttpStatus(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kNotFound:
      return 404;
    default:
      return 500;
  }
}

void AnswerJson(httplib::Response& response, int status, std::string body) {
  response.status = status;
  response.set_header("Cache-Control", "no-store");
  response.set_content(std::move(body), kJson);
}

void AnswerError(httplib::Response& response, const absl::Status& status) {
  const int code = HttpStatus(status);
  if (code == 401) response.set_header("WWW-Authenticate", "Bearer");
  AnswerJson(response, code, ErrorJson(status.message()));
}

// Whether the Host header names this machine's loopback: 127.0.0.0/8,
// [::1] or localhost, with any port. No Host (HTTP/1.0) is local too.
// Only literal addresses and "localhost": a name such as 127.0.0.1.evil.example
// could be rebound to loopback.
bool IsLoopbackHost(absl::string_view host) {
  if (host.empty()) return true;
  if (absl::StartsWith(host, "[")) {
    return host == "[::1]" || absl::StartsWith(host, "[::1]:");
  }
  const std::string name(host.substr(0, host.find(':')));
  if (absl::AsciiStrToLower(name) == "localhost") return true;
  in_addr address;
  return inet_pton(AF_INET, name.c_str(), &address) == 1 &&
         (ntohl(address.s_addr) >> 24) == 127;
}

// The token of an "Authorization: Bearer <token>" header.
std::optional<absl::string_view> BearerToken(absl::string_view header) {
  if (!absl::ConsumePrefix(&header, "Bearer ") &&
      !absl::ConsumePrefix(&header, "bearer ")) {
    return std::nullopt;
  }
  return absl::StripAsciiWhitespace(header);
}

void SetPageHeaders(httplib::Response& response) {
  response.set_header("Content-Security-Policy",
                      "default-src 'self'; img-src 'self' data:; "
                      "frame-ancestors 'none'");
  response.set_header("X-Content-Type-Options", "nosniff");
  response.set_header("Referrer-Policy", "no-referrer");
}

}  // namespace

bool DashboardAllowedOn(const std::string& listen,
                        const DashboardOptions& options) {
  return options.policy.tokens != nullptr || options.allow_remote ||
         rpc::IsLocalListenAddress(listen);
}

Dashboard::Dashboard(const Engine* engine, DashboardOptions options)
    : engine_(engine), options_(std::move(options)) {
  sampler_ = std::thread([this] { SampleLoop(); });
}

Dashboard::~Dashboard() {
  stop_.Notify();
  sampler_.join();
}

void Dashboard::SampleLoop() {
  do {
    throughput_.Record(absl::Now(), ThroughputHistory::DoneTotal(
                                        engine_->FunctionStatistics()));
  } while (!stop_.WaitForNotificationWithTimeout(kSampleInterval));
}

void Dashboard::AddRoutes(httplib::Server& server) {
  auto page = [](const httplib::Request& request, httplib::Response& response) {
    const absl::string_view path =
        request.path == "/index.html" ? "/" : absl::string_view(request.path);
    const DashboardAsset* asset = FindDashboardAsset(path);
    if (asset == nullptr) {
      response.status = 404;
      return;
    }
    SetPageHeaders(response);
    response.set_content(std::string(asset->body),
                         std::string(asset->content_type).c_str());
  };
  server.Get("/", page);
  server.Get("/index.html", page);
  server.Get("/dashboard.js", page);
  server.Get("/dashboard.css", page);
  server.Get("/api/overview", [this](const httplib::Request& q,
                                     httplib::Response& r) { Overview(q, r); });
  server.Get("/api/futures",
             [this](const httplib::Request& q, httplib::Response& r) {
               ListFutures(q, r);
             });
  server.Get("/api/futures/([^/]*)",
             [this](const httplib::Request& q, httplib::Response& r) {
               ShowFuture(q, r);
             });
  server.Post("/api/futures/([^/]*)/cancel",
              [this](const httplib::Request& q, httplib::Response& r) {
                CancelFuture(q, r);
              });
  // Anything else under /api/ is a JSON 404, as scripts expect.
  server.Get("/api/.*", [](const httplib::Request&, httplib::Response& r) {
    AnswerJson(r, 404, ErrorJson("no such endpoint"));
  });
}

absl::StatusOr<Dashboard::Viewer> Dashboard::Authenticate(
    const httplib::Request& request) const {
  const rpc::CallerPolicy& policy = options_.policy;
  if (policy.tokens == nullptr) {
    if (policy.client_certificates) {
      return absl::UnauthenticatedError(
          "the dashboard needs bearer tokens (--auth_tokens_file): client "
          "certificates do not reach it");
    }
    if (!options_.allow_remote &&
        !IsLoopbackHost(request.get_header_value("Host"))) {
      return absl::PermissionDeniedError(
          "without authentication the dashboard answers only requests to a "
          "loopback host (see --dashboard_allow_remote)");
    }
    return Viewer{.principal = "", .sees_all = false};
  }
  // The header's value is a temporary: kept here, as the token views it.
  const std::string authorization = request.get_header_value("Authorization");
  const std::optional<absl::string_view> token = BearerToken(authorization);
  if (!token.has_value()) {
    return absl::UnauthenticatedError(
        "a bearer token is required (Authorization: Bearer <token>)");
  }
  std::optional<std::string> principal = policy.tokens->PrincipalFor(*token);
  if (!principal.has_value()) {
    return absl::UnauthenticatedError("the bearer token is not valid");
  }
  const bool sees_all = !options_.operator_principal.empty() &&
                        *principal == options_.operator_principal;
  return Viewer{.principal = *std::move(principal), .sees_all = sees_all};
}

std::optional<Dashboard::Viewer> Dashboard::Admit(
    const httplib::Request& request, httplib::Response& response) const {
  absl::StatusOr<Viewer> viewer = Authenticate(request);
  if (!viewer.ok()) {
    AnswerError(response, viewer.status());
    return std::nullopt;
  }
  return *std::move(viewer);
}

void Dashboard::Overview(const httplib::Request& request,
                         httplib::Response& response) const {
  const std::optional<Viewer> viewer = Admit(request, response);
  if (!viewer.has_value()) return;
  OverviewFigures figures{.principal = viewer->principal,
                          .sees_all = viewer->sees_all,
                          .pools = {},  // below
                          .functions = engine_->FunctionStatistics(),
                          .throughput = throughput_.Rates(),
                          .futures = engine_->FutureCount(),
                          .start_time = options_.start_time,
                          .version = options_.version,
                          .now = absl::Now(),
                          .journal = engine_->JournalStatistics()};
  const std::map<std::string, std::vector<WorkerView>> workers =
      engine_->PoolWorkers();
  for (const PoolStats& stats : engine_->PoolStatistics()) {
    PoolFigures pool{.stats = stats, .workers = {}};
    auto it = workers.find(stats.name);
    if (it != workers.end()) {
      for (const WorkerView& worker : it->second) {
        WorkerFigures shown{.pid = worker.pid,
                            .busy = worker.future != nullptr,
                            .task = std::nullopt};
        // Another principal's task shows only as "busy".
        if (worker.future != nullptr &&
            engine_->FindForViewer(worker.future->id(), viewer->scope()).ok()) {
          shown.task = worker.future->Snapshot();
        }
        pool.workers.push_back(std::move(shown));
      }
    }
    figures.pools.push_back(std::move(pool));
  }
  AnswerJson(response, 200, OverviewJson(figures));
}

void Dashboard::ListFutures(const httplib::Request& request,
                            httplib::Response& response) const {
  const std::optional<Viewer> viewer = Admit(request, response);
  if (!viewer.has_value()) return;
  absl::StatusOr<FutureFilter> filter = ParseFutureFilter(
      request.get_param_value("state"), request.get_param_value("function"),
      request.get_param_value("limit"));
  if (!filter.ok()) {
    AnswerError(response, filter.status());
    return;
  }
  const std::vector<std::shared_ptr<Future>> recent =
      engine_->RecentFutures(viewer->scope());
  std::vector<FutureSnapshot> shown;
  for (const std::shared_ptr<Future>& future : recent) {
    if (shown.size() >= filter->limit) break;
    // Before the copy, which takes the future's lock.
    if (!filter->function.empty() && future->function() != filter->function) {
      continue;
    }
    FutureSnapshot snapshot = future->Snapshot();
    if (filter->Matches(snapshot)) shown.push_back(std::move(snapshot));
  }
  AnswerJson(response, 200, FutureListJson(shown, recent.size(), absl::Now()));
}

void Dashboard::ShowFuture(const httplib::Request& request,
                           httplib::Response& response) const {
  const std::optional<Viewer> viewer = Admit(request, response);
  if (!viewer.has_value()) return;
  const std::string id = request.matches[1];
  if (!IsWellFormedFutureId(id)) {
    AnswerError(response, absl::InvalidArgumentError("malformed future ID"));
    return;
  }
  absl::StatusOr<std::shared_ptr<Future>> future =
      engine_->FindForViewer(id, viewer->scope());
  if (!future.ok()) {
    AnswerError(response, future.status());
    return;
  }
  AnswerJson(response, 200,
             FutureJson((*future)->Snapshot(), absl::Now(),
                        engine_->CallArguments(id)));
}

void Dashboard::CancelFuture(const httplib::Request& request,
                             httplib::Response& response) const {
  const std::optional<Viewer> viewer = Admit(request, response);
  if (!viewer.has_value()) return;
  if (request.get_header_value(kActionHeader) != "cancel") {
    AnswerError(response,
                absl::PermissionDeniedError(absl::StrCat(
                    "a cancel needs the header ", kActionHeader, ": cancel")));
    return;
  }
  const std::string id = request.matches[1];
  if (!IsWellFormedFutureId(id)) {
    AnswerError(response, absl::InvalidArgumentError("malformed future ID"));
    return;
  }
  // The Cancel RPC's rights: the caller's own futures only, the operator
  // included.
  absl::StatusOr<std::shared_ptr<Future>> future =
      engine_->Find(id, viewer->principal);
  if (!future.ok()) {
    AnswerError(response, future.status());
    return;
  }
  engine_->Cancel(*future, /*only_if_pending=*/false);
  AnswerJson(response, 200, FutureJson((*future)->Snapshot(), absl::Now()));
}

}  // namespace futured::server
