// The dashboard's endpoints over real HTTP, against a real engine running
// the built-in tasks in a thread pool.
#include "server/daemon/dashboard_http.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "server/daemon/metrics_http.h"
#include "server/engine/engine.h"
#include "server/engine/timer_queue.h"
#include "server/rpc/bearer_tokens.h"
#include "server/task/task_registry.h"
#include "server/tasks/builtin_tasks.h"
#include "tests/poll_until.h"

namespace futured::server {
namespace {

using ::futured::testing::PollUntil;
using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr char kTokens[] =
    "alice alice-token-0123456789\n"
    "bob bob-token-0123456789abc\n"
    "ops ops-token-0123456789abc\n";

Struct Parse(const std::string& json) {
  Struct parsed;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok())
      << json;
  return parsed;
}

std::string StringField(const Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? "<missing>" : it->second.string_value();
}

// A daemon's engine and HTTP listener with the dashboard, as main() wires
// them; the listener stops before the dashboard and the engine go.
class DashboardHttpTest : public ::testing::Test {
 protected:
  void Start(bool with_tokens, bool allow_remote = false) {
    ASSERT_TRUE(RegisterBuiltinTasks(registry_).ok());
    engine_ = std::make_unique<Engine>(
        EngineOptions{
            .pools = {ThreadPool::Options{.name = "thread", .workers = 2}}},
        &registry_, &timers_);
    DashboardOptions options;
    options.allow_remote = allow_remote;
    options.start_time = absl::Now();
    options.version = "test";
    if (with_tokens) {
      absl::StatusOr<BearerTokens> tokens = BearerTokens::Parse(kTokens);
      ASSERT_TRUE(tokens.ok()) << tokens.status();
      options.policy.tokens =
          std::make_shared<const BearerTokens>(*std::move(tokens));
      options.operator_principal = "ops";
    }
    dashboard_ = std::make_unique<Dashboard>(engine_.get(), options);
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> http =
        MetricsHttpServer::Start(
            "127.0.0.1:0", [] { return std::string(); },
            [this](httplib::Server& s) { dashboard_->AddRoutes(s); });
    ASSERT_TRUE(http.ok()) << http.status();
    http_ = *std::move(http);
    // "http://127.0.0.1:PORT/metrics" -> host and port.
    const std::string url = http_->url();
    const size_t colon = url.rfind(':');
    port_ = std::stoi(url.substr(colon + 1));
  }

  void TearDown() override {
    http_.reset();
    dashboard_.reset();
    if (engine_ != nullptr) engine_->Shutdown(absl::Seconds(5));
  }

  std::shared_ptr<Future> Submit(const std::string& function,
                                 std::vector<Value> args,
                                 const std::string& principal = "") {
    google::protobuf::RepeatedPtrField<Value> repeated(args.begin(),
                                                       args.end());
    absl::StatusOr<PreparedCall> call =
        engine_->Prepare(function, repeated, {}, "thread");
    EXPECT_TRUE(call.ok()) << call.status();
    absl::StatusOr<std::shared_ptr<Future>> future = engine_->Start(
        *std::move(call), std::nullopt, Tracking::kInTable, principal);
    EXPECT_TRUE(future.ok()) << future.status();
    return future.value_or(nullptr);
  }

  static Value Num(double n) {
    Value v;
    v.set_number_value(n);
    return v;
  }
  static Value Str(const std::string& s) {
    Value v;
    v.set_string_value(s);
    return v;
  }

  httplib::Headers Auth(const std::string& token) {
    if (token.empty()) return {};
    return {{"Authorization", absl::StrCat("Bearer ", token)}};
  }

  // GET `path`; the status and body.
  std::pair<int, std::string> Get(const std::string& path,
                                  httplib::Headers headers = {}) {
    httplib::Client client("127.0.0.1", port_);
    httplib::Result result = client.Get(path.c_str(), headers);
    if (!result) return {0, ""};
    return {result->status, result->body};
  }

  std::pair<int, std::string> Post(const std::string& path,
                                   httplib::Headers headers) {
    httplib::Client client("127.0.0.1", port_);
    httplib::Result result = client.Post(path.c_str(), headers, "", "");
    if (!result) return {0, ""};
    return {result->status, result->body};
  }

  // The IDs /api/futures lists for `query` with `headers`.
  std::vector<std::string> ListedIds(const std::string& query,
                                     httplib::Headers headers = {}) {
    auto [status, body] = Get(absl::StrCat("/api/futures", query), headers);
    EXPECT_EQ(status, 200) << body;
    std::vector<std::string> ids;
    const Struct list = Parse(body);
    auto it = list.fields().find("futures");
    if (it == list.fields().end()) return ids;
    for (const Value& f : it->second.list_value().values()) {
      ids.push_back(StringField(f.struct_value(), "id"));
    }
    return ids;
  }

  TaskRegistry registry_;
  TimerQueue timers_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<Dashboard> dashboard_;
  std::unique_ptr<MetricsHttpServer> http_;
  int port_ = 0;
};

TEST_F(DashboardHttpTest, ServesThePageAndItsAssetsFromTheBinary) {
  Start(false);
  auto [status, body] = Get("/");
  EXPECT_EQ(status, 200);
  EXPECT_THAT(body, HasSubstr("<title>futured dashboard</title>"));
  EXPECT_EQ(Get("/dashboard.js").first, 200);
  EXPECT_EQ(Get("/dashboard.css").first, 200);
  EXPECT_EQ(Get("/nothing-here").first, 404);
}

TEST_F(DashboardHttpTest, OverviewShowsPoolsAndTheTaskAWorkerRuns) {
  Start(false);
  std::shared_ptr<Future> sleeping = Submit("sleep", {Num(60)});
  ASSERT_TRUE(
      PollUntil([&] { return sleeping->state() == FutureState::kRunning; }));
  auto [status, body] = Get("/api/overview");
  ASSERT_EQ(status, 200) << body;
  const Struct overview = Parse(body);
  const auto& pools = overview.fields().at("pools").list_value();
  ASSERT_EQ(pools.values_size(), 1);
  const Struct& pool = pools.values(0).struct_value();
  EXPECT_EQ(StringField(pool, "name"), "thread");
  EXPECT_EQ(pool.fields().at("running").number_value(), 1);
  int shown = 0;
  for (const Value& w : pool.fields().at("worker_list").list_value().values()) {
    const Value& task = w.struct_value().fields().at("task");
    if (task.has_struct_value()) {
      ++shown;
      EXPECT_EQ(StringField(task.struct_value(), "id"), sleeping->id());
    }
  }
  EXPECT_EQ(shown, 1);
  sleeping->Cancel(absl::Now());
}

TEST_F(DashboardHttpTest, ListsRecentFuturesFilteredByStateAndFunction) {
  Start(false);
  std::shared_ptr<Future> failed =
      Submit("fail", {Str("ValueError"), Str("bad input")});
  std::shared_ptr<Future> echoed = Submit("echo", {Num(1)});
  ASSERT_TRUE(PollUntil([&] { return failed->done() && echoed->done(); }));
  EXPECT_THAT(ListedIds(""), UnorderedElementsAre(failed->id(), echoed->id()));
  EXPECT_THAT(ListedIds("?state=failed"), UnorderedElementsAre(failed->id()));
  EXPECT_THAT(ListedIds("?function=echo"), UnorderedElementsAre(echoed->id()));
  EXPECT_TRUE(ListedIds("?state=running").empty());
  EXPECT_EQ(ListedIds("?limit=1").size(), 1u);

  auto [status, body] = Get(absl::StrCat("/api/futures/", failed->id()));
  ASSERT_EQ(status, 200);
  EXPECT_THAT(body, HasSubstr("bad input"));
  EXPECT_THAT(body, HasSubstr("ValueError"));
}

TEST_F(DashboardHttpTest, BadInputIsA4xxWithAJsonError) {
  Start(false);
  for (const char* path :
       {"/api/futures?state=done", "/api/futures?limit=0",
        "/api/futures?limit=abc", "/api/futures/has%20space",
        "/api/futures/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}) {
    auto [status, body] = Get(path);
    EXPECT_EQ(status, 400) << path;
    EXPECT_THAT(body, HasSubstr("\"error\"")) << path;
  }
  for (const char* path : {"/api/futures/unknown-id", "/api/nothing"}) {
    auto [status, body] = Get(path);
    EXPECT_EQ(status, 404) << path;
    EXPECT_THAT(body, HasSubstr("\"error\"")) << path;
  }
  EXPECT_EQ(
      Post("/api/futures/unknown-id/cancel", {{"X-Futured-Action", "cancel"}})
          .first,
      404);
}

TEST_F(DashboardHttpTest, CancelStopsARunningTaskOnlyWithTheActionHeader) {
  Start(false);
  std::shared_ptr<Future> sleeping = Submit("sleep", {Num(60)});
  ASSERT_TRUE(
      PollUntil([&] { return sleeping->state() == FutureState::kRunning; }));
  const std::string path =
      absl::StrCat("/api/futures/", sleeping->id(), "/cancel");
  EXPECT_EQ(Post(path, {}).first, 403);  // what a form elsewhere could send
  EXPECT_EQ(sleeping->state(), FutureState::kRunning);
  EXPECT_EQ(Post(path, {{"X-Futured-Action", "cancel"}}).first, 200);
  EXPECT_TRUE(
      PollUntil([&] { return sleeping->state() == FutureState::kCancelled; }));
}

TEST_F(DashboardHttpTest, WithoutTokensOnlyLoopbackHostsAreAnswered) {
  Start(false);
  EXPECT_EQ(Get("/api/overview", {{"Host", "evil.example:80"}}).first, 403);
  // A name that merely starts like a loopback address could be rebound.
  EXPECT_EQ(Get("/api/overview", {{"Host", "127.0.0.1.evil.example:80"}}).first,
            403);
  EXPECT_EQ(Get("/api/overview", {{"Host", "[::1].evil.example"}}).first, 403);
  EXPECT_EQ(Get("/api/overview", {{"Host", "127.0.0.2:9464"}}).first, 200);
  EXPECT_EQ(Get("/api/overview", {{"Host", "localhost:9464"}}).first, 200);
  EXPECT_EQ(Get("/api/overview", {{"Host", "[::1]:9464"}}).first, 200);
}

TEST_F(DashboardHttpTest, AllowRemoteAnswersAnyHost) {
  Start(false, /*allow_remote=*/true);
  EXPECT_EQ(Get("/api/overview", {{"Host", "futured.example:9464"}}).first,
            200);
}

TEST_F(DashboardHttpTest, WithTokensEachPrincipalSeesOnlyItsOwnFutures) {
  Start(true);
  std::shared_ptr<Future> alices = Submit("echo", {Num(1)}, "alice");
  std::shared_ptr<Future> bobs = Submit("echo", {Num(2)}, "bob");
  ASSERT_TRUE(PollUntil([&] { return alices->done() && bobs->done(); }));

  for (const char* path : {"/api/overview", "/api/futures", "/api/futures/x"}) {
    EXPECT_EQ(Get(path).first, 401) << path;
    EXPECT_EQ(Get(path, Auth("not-a-valid-token-at-all")).first, 401) << path;
  }
  EXPECT_THAT(ListedIds("", Auth("alice-token-0123456789")),
              UnorderedElementsAre(alices->id()));
  EXPECT_THAT(ListedIds("", Auth("bob-token-0123456789abc")),
              UnorderedElementsAre(bobs->id()));
  EXPECT_THAT(ListedIds("", Auth("ops-token-0123456789abc")),
              UnorderedElementsAre(alices->id(), bobs->id()));
  EXPECT_EQ(Get(absl::StrCat("/api/futures/", bobs->id()),
                Auth("alice-token-0123456789"))
                .first,
            404);
  EXPECT_EQ(Get(absl::StrCat("/api/futures/", bobs->id()),
                Auth("ops-token-0123456789abc"))
                .first,
            200);
  auto [status, body] = Get("/api/overview", Auth("ops-token-0123456789abc"));
  EXPECT_EQ(status, 200);
  EXPECT_THAT(body, HasSubstr("\"sees_all\":true"));
}

TEST_F(DashboardHttpTest, CancelNeedsTheRightsOfTheCancelRpc) {
  Start(true);
  std::shared_ptr<Future> bobs = Submit("sleep", {Num(60)}, "bob");
  ASSERT_TRUE(
      PollUntil([&] { return bobs->state() == FutureState::kRunning; }));
  const std::string path = absl::StrCat("/api/futures/", bobs->id(), "/cancel");
  auto with = [](const std::string& token) {
    return httplib::Headers{{"Authorization", absl::StrCat("Bearer ", token)},
                            {"X-Futured-Action", "cancel"}};
  };
  EXPECT_EQ(Post(path, {{"X-Futured-Action", "cancel"}}).first, 401);
  EXPECT_EQ(Post(path, with("alice-token-0123456789")).first, 404);
  // The operator sees it but may not cancel it, as with the Cancel RPC.
  EXPECT_EQ(Post(path, with("ops-token-0123456789abc")).first, 404);
  EXPECT_EQ(bobs->state(), FutureState::kRunning);
  EXPECT_EQ(Post(path, with("bob-token-0123456789abc")).first, 200);
  EXPECT_TRUE(
      PollUntil([&] { return bobs->state() == FutureState::kCancelled; }));
}

TEST_F(DashboardHttpTest, ThroughputIsSampledOnceASecond) {
  Start(false);
  std::shared_ptr<Future> echoed = Submit("echo", {Num(1)});
  ASSERT_TRUE(PollUntil([&] { return echoed->done(); }));
  // Two samples a second apart make the first rate.
  EXPECT_TRUE(PollUntil([&] {
    return Get("/api/overview").second.find("\"per_second\"") !=
           std::string::npos;
  }));
}

TEST(DashboardAllowedOnTest, WithoutTokensOnlyOnLoopbackUnlessAllowed) {
  DashboardOptions plain;
  EXPECT_TRUE(DashboardAllowedOn("127.0.0.1:9464", plain));
  EXPECT_TRUE(DashboardAllowedOn("[::1]:9464", plain));
  EXPECT_TRUE(DashboardAllowedOn("localhost:9464", plain));
  EXPECT_FALSE(DashboardAllowedOn("0.0.0.0:9464", plain));
  EXPECT_FALSE(DashboardAllowedOn("[::]:9464", plain));
  EXPECT_FALSE(DashboardAllowedOn("192.0.2.1:9464", plain));

  DashboardOptions allowed;
  allowed.allow_remote = true;
  EXPECT_TRUE(DashboardAllowedOn("0.0.0.0:9464", allowed));

  DashboardOptions tokens;
  absl::StatusOr<BearerTokens> parsed = BearerTokens::Parse(kTokens);
  ASSERT_TRUE(parsed.ok());
  tokens.policy.tokens =
      std::make_shared<const BearerTokens>(*std::move(parsed));
  EXPECT_TRUE(DashboardAllowedOn("0.0.0.0:9464", tokens));
}

}  // namespace
}  // namespace futured::server
