// The dashboard of the real daemon (--http_listen): its page and JSON
// endpoints over HTTP, as tasks fail, run with progress and are cancelled,
// and what each principal sees with bearer tokens.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "futured/channel.h"
#include "futured/credentials.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/integration/daemon_test.h"
#include "tests/integration/executor_calls.h"
#include "tests/integration/program_run.h"
#include "tests/integration/temp_dir.h"
#include "tests/poll_until.h"

namespace futured::testing {
namespace {

using ::google::protobuf::Struct;
using ::google::protobuf::Value;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr char kAliceToken[] = "alice-token-0123456789";
constexpr char kBobToken[] = "bob-token-0123456789ab";
constexpr char kOpsToken[] = "ops-token-0123456789abc";

struct HttpAnswer {
  int status = 0;
  std::string body;
};

Struct Parse(const std::string& json) {
  Struct parsed;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &parsed).ok())
      << json;
  return parsed;
}

std::string StringField(const Struct& s, const std::string& name) {
  auto it = s.fields().find(name);
  return it == s.fields().end() ? "" : it->second.string_value();
}

class DashboardTest : public DaemonTest {
 protected:
  // Starts futured with the dashboard and reads its URL from stdout.
  void StartWithDashboard(std::vector<std::string> flags = {}) {
    flags.push_back("--http_listen=127.0.0.1:0");
    flags.push_back("--processes=1");
    ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false, flags));
    ASSERT_TRUE(daemon_->ReadStdoutLine().ok());  // the metrics line
    absl::StatusOr<std::string> line = daemon_->ReadStdoutLine();
    ASSERT_TRUE(line.ok()) << line.status();
    absl::string_view url = *line;
    ASSERT_TRUE(absl::ConsumePrefix(&url, "futured dashboard on http://"))
        << *line;
    ASSERT_TRUE(absl::ConsumeSuffix(&url, "/")) << *line;
    const size_t colon = url.rfind(':');
    host_ = std::string(url.substr(0, colon));
    ASSERT_TRUE(absl::SimpleAtoi(url.substr(colon + 1), &port_));
  }

  void StartWithTokens() {
    tokens_path_ = dir_.Write(
        "tokens", absl::StrCat("alice ", kAliceToken, "\nbob ", kBobToken,
                               "\nops ", kOpsToken, "\n"));
    StartWithDashboard(
        {"--auth_tokens_file=" + tokens_path_, "--dashboard_operator=ops"});
  }

  httplib::Headers Auth(const std::string& token) {
    if (token.empty()) return {};
    return {{"Authorization", absl::StrCat("Bearer ", token)}};
  }

  HttpAnswer Get(const std::string& path, const std::string& token = "") {
    httplib::Client client(host_, port_);
    client.set_read_timeout(30);
    httplib::Result result = client.Get(path.c_str(), Auth(token));
    if (!result) return {};
    return {result->status, result->body};
  }

  HttpAnswer Cancel(const std::string& id, const std::string& token = "") {
    httplib::Client client(host_, port_);
    client.set_read_timeout(30);
    httplib::Headers headers = Auth(token);
    headers.emplace("X-Futured-Action", "cancel");
    httplib::Result result = client.Post(
        absl::StrCat("/api/futures/", id, "/cancel").c_str(), headers, "", "");
    if (!result) return {};
    return {result->status, result->body};
  }

  // The IDs /api/futures lists for `query`.
  std::vector<std::string> ListedIds(const std::string& query,
                                     const std::string& token = "") {
    HttpAnswer answer = Get(absl::StrCat("/api/futures", query), token);
    EXPECT_EQ(answer.status, 200) << answer.body;
    std::vector<std::string> ids;
    const Struct list = Parse(answer.body);
    auto it = list.fields().find("futures");
    if (it == list.fields().end()) return ids;
    for (const Value& f : it->second.list_value().values()) {
      ids.push_back(StringField(f.struct_value(), "id"));
    }
    return ids;
  }

  // A Submit with `token`'s credentials.
  std::string SubmitAs(const std::string& token,
                       const futured::v1::SubmitRequest& request) {
    ClientOptions options;
    options.credentials.bearer_token = token;
    ExecutorCalls calls(NewChannel(daemon_->address(), options));
    std::string id;
    const grpc::Status status = calls.Submit(request, &id);
    EXPECT_TRUE(status.ok()) << StatusText(status);
    return id;
  }

  TempDir dir_;
  std::string tokens_path_;
  std::string host_;
  int port_ = 0;
};

TEST_F(DashboardTest, ThePageAndTheOverviewOfPoolsAndWorkers) {
  ASSERT_NO_FATAL_FAILURE(StartWithDashboard());
  HttpAnswer page = Get("/");
  EXPECT_EQ(page.status, 200);
  EXPECT_THAT(page.body, HasSubstr("futured dashboard"));

  futured::v1::SubmitRequest sleep = CallOf("sleep", {NumberValue(60)});
  sleep.set_pool("process");
  const std::string id = MustSubmit(sleep);
  MustAwaitState(id, futured::v1::FUTURE_STATE_RUNNING);
  HttpAnswer overview = Get("/api/overview");
  ASSERT_EQ(overview.status, 200);
  const Struct o = Parse(overview.body);
  std::vector<std::string> pools;
  bool worker_runs_it = false;
  for (const Value& p : o.fields().at("pools").list_value().values()) {
    pools.push_back(StringField(p.struct_value(), "name"));
    for (const Value& w :
         p.struct_value().fields().at("worker_list").list_value().values()) {
      const Struct& worker = w.struct_value();
      const Value& task = worker.fields().at("task");
      if (task.has_struct_value() &&
          StringField(task.struct_value(), "id") == id) {
        worker_runs_it = worker.fields().at("pid").number_value() > 0;
      }
    }
  }
  EXPECT_THAT(pools, UnorderedElementsAre("thread", "process"));
  EXPECT_TRUE(worker_runs_it) << overview.body;
  MustCancel(id);
}

TEST_F(DashboardTest, FailedRunningAndCancelledFuturesAsJson) {
  ASSERT_NO_FATAL_FAILURE(StartWithDashboard());
  const std::string failed = MustSubmit(
      CallOf("fail", {StringValue("ValueError"), StringValue("bad input")}));
  const std::string sleeping = MustSubmit(CallOf("sleep", {NumberValue(60)}));
  MustAwaitState(failed, futured::v1::FUTURE_STATE_FINISHED);
  MustAwaitState(sleeping, futured::v1::FUTURE_STATE_RUNNING);

  EXPECT_THAT(ListedIds("?state=failed"), UnorderedElementsAre(failed));
  EXPECT_THAT(ListedIds("?state=running&function=sleep"),
              UnorderedElementsAre(sleeping));
  HttpAnswer one = Get(absl::StrCat("/api/futures/", failed));
  ASSERT_EQ(one.status, 200);
  EXPECT_THAT(one.body, HasSubstr("bad input"));
  // The call's arguments, from the journal.
  EXPECT_THAT(one.body, HasSubstr(R"("args":["ValueError","bad input"])"));

  // sleep reports progress as it goes.
  EXPECT_TRUE(PollUntil([&] {
    return absl::StrContains(Get(absl::StrCat("/api/futures/", sleeping)).body,
                             "\"fraction\"");
  }));
  HttpAnswer cancelled = Cancel(sleeping);
  EXPECT_EQ(cancelled.status, 200) << cancelled.body;
  MustAwaitState(sleeping, futured::v1::FUTURE_STATE_CANCELLED);
  EXPECT_THAT(ListedIds("?state=cancelled"), UnorderedElementsAre(sleeping));

  EXPECT_EQ(Get("/api/futures?state=nonsense").status, 400);
  EXPECT_EQ(Get("/api/futures/not%20an%20id").status, 400);
  EXPECT_EQ(Get("/api/futures/00000000-0000-4000-8000-000000000000").status,
            404);
  EXPECT_EQ(Get("/metrics").status, 200);  // the same listener
}

TEST_F(DashboardTest, WithTokensNoTokenSeesNothingAndEachPrincipalItsOwn) {
  ASSERT_NO_FATAL_FAILURE(StartWithTokens());
  const std::string alices =
      SubmitAs(kAliceToken, CallOf("echo", {NumberValue(1)}));
  const std::string bobs =
      SubmitAs(kBobToken, CallOf("echo", {NumberValue(2)}));

  for (const char* path : {"/api/overview", "/api/futures"}) {
    HttpAnswer anonymous = Get(path);
    EXPECT_EQ(anonymous.status, 401) << path;
    EXPECT_THAT(anonymous.body, ::testing::Not(HasSubstr(alices)));
  }
  EXPECT_EQ(Get("/api/futures", "wrong-token-0123456789").status, 401);
  EXPECT_THAT(ListedIds("", kAliceToken), UnorderedElementsAre(alices));
  EXPECT_THAT(ListedIds("", kBobToken), UnorderedElementsAre(bobs));
  EXPECT_THAT(ListedIds("", kOpsToken), UnorderedElementsAre(alices, bobs));
  EXPECT_EQ(Get(absl::StrCat("/api/futures/", bobs), kAliceToken).status, 404);
  EXPECT_EQ(Cancel(bobs, kAliceToken).status, 404);
}

TEST(DashboardSettingsTest,
     AnOperatorNeedsTokensAndTheTwoListenNamesMustAgree) {
  absl::StatusOr<ProgramResult> run =
      RunProgram({FUTURED_BINARY, "--listen=127.0.0.1:0",
                  "--http_listen=127.0.0.1:0", "--dashboard_operator=ops"});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 1);
  EXPECT_THAT(run->err, HasSubstr("--dashboard_operator"));
  run =
      RunProgram({FUTURED_BINARY, "--listen=127.0.0.1:0",
                  "--http_listen=127.0.0.1:1", "--metrics_listen=127.0.0.1:2"});
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->exit_code, 1);
  EXPECT_THAT(run->err, HasSubstr("--metrics_listen"));
}

}  // namespace
}  // namespace futured::testing
