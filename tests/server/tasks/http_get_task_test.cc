#include "server/tasks/http_get_task.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/server/task_spec_call.h"
#include "tests/server/value_builders.h"

namespace futured::server {
namespace {

using ::futured::testing::Describe;
using ::futured::testing::Field;
using ::futured::testing::Kwargs;
using ::futured::testing::Num;
using ::futured::testing::Prepare;
using ::futured::testing::RunTask;
using ::futured::testing::Str;
using ::google::protobuf::Value;
using ::testing::HasSubstr;

// Long enough for any healthy run; a handler or task stuck past it fails.
constexpr absl::Duration kTestTimeout = absl::Seconds(30);

// http.get against a cpp-httplib server on 127.0.0.1 that the test runs.
class HttpGetTaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // libcurl honours proxy variables; loopback must not go through one.
    setenv("no_proxy", "127.0.0.1", 1);
    server_.Get("/page", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(
          "<!doctype html><html><head><title>\n  Hello &amp;\n  World "
          "</title></head><body><svg><title>not this</title></svg></body>"
          "</html>",
          "text/html; charset=utf-8");
    });
    server_.Get("/redirect",
                [](const httplib::Request&, httplib::Response& res) {
                  res.set_redirect("/page");
                });
    server_.Get("/missing",
                [](const httplib::Request&, httplib::Response& res) {
                  res.status = 404;
                  res.set_content("<title>Not Found</title>", "text/html");
                });
    server_.Get("/untitled",
                [](const httplib::Request&, httplib::Response& res) {
                  res.set_content("<p>no title here</p>", "text/html");
                });
    server_.Get("/plain", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("<title>text, not HTML</title>", "text/plain");
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(5000, 'x'), "text/html");
    });
    server_.Get("/big-chunked",
                [](const httplib::Request&, httplib::Response& res) {
                  // No Content-Length: the limit is found while reading.
                  res.set_chunked_content_provider(
                      "text/html", [](size_t offset, httplib::DataSink& sink) {
                        if (offset >= 5000) {
                          sink.done();
                        } else {
                          sink.write(std::string(1000, 'x').data(), 1000);
                        }
                        return true;
                      });
                });
    server_.Get("/to-file",
                [](const httplib::Request&, httplib::Response& res) {
                  res.set_redirect("file:///etc/passwd");
                });
    server_.Get("/stall",
                [this](const httplib::Request&, httplib::Response& res) {
                  if (!stalled_.HasBeenNotified()) stalled_.Notify();
                  release_.WaitForNotificationWithTimeout(kTestTimeout);
                  res.set_content("late", "text/plain");
                });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // This cpp-httplib (Debian 12) has no wait_until_ready(); bounded poll.
    const absl::Time give_up = absl::Now() + kTestTimeout;
    while (!server_.is_running() && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    ASSERT_TRUE(server_.is_running());
  }

  void TearDown() override {
    release_.Notify();
    server_.stop();
    thread_.join();
  }

  std::string Url(const std::string& path) const {
    return absl::StrCat("http://127.0.0.1:", port_, path);
  }

  Outcome Get(const std::string& path,
              absl::Time deadline = absl::InfiniteFuture()) {
    return RunTask(spec_, Kwargs({{"url", Str(Url(path))}}), token_, deadline);
  }

  const TaskError* ErrorOf(const Outcome& outcome) {
    return std::get_if<TaskError>(&outcome);
  }

  const TaskSpec spec_ = HttpGetTaskSpec();
  CancellationToken token_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  absl::Notification stalled_;
  absl::Notification release_;
};

TEST_F(HttpGetTaskTest, PageWithTitle) {
  Outcome page = Get("/page");
  ASSERT_FALSE(IsError(page)) << Describe(page);
  EXPECT_EQ(Field(page, "status").number_value(), 200);
  EXPECT_EQ(Field(page, "url").string_value(), Url("/page"));
  EXPECT_EQ(Field(page, "content_type").string_value(),
            "text/html; charset=utf-8");
  EXPECT_GT(Field(page, "bytes").number_value(), 100);
  // Entities decoded, whitespace collapsed, the SVG title ignored.
  EXPECT_EQ(Field(page, "title").string_value(), "Hello & World");
}

TEST_F(HttpGetTaskTest, RedirectGivesTheFinalUrl) {
  Outcome page = Get("/redirect");
  EXPECT_EQ(Field(page, "status").number_value(), 200) << Describe(page);
  EXPECT_EQ(Field(page, "url").string_value(), Url("/page"));
  EXPECT_EQ(Field(page, "title").string_value(), "Hello & World");
}

TEST_F(HttpGetTaskTest, NotFoundIsAResultNotAnError) {
  Outcome page = Get("/missing");
  ASSERT_FALSE(IsError(page)) << Describe(page);
  EXPECT_EQ(Field(page, "status").number_value(), 404);
  EXPECT_EQ(Field(page, "title").string_value(), "Not Found");
}

TEST_F(HttpGetTaskTest, PageWithoutTitleHasNullTitle) {
  for (const std::string path : {"/untitled", "/plain"}) {
    Outcome page = Get(path);
    EXPECT_EQ(Field(page, "status").number_value(), 200) << Describe(page);
    EXPECT_EQ(Field(page, "title").kind_case(), Value::kNullValue) << path;
  }
}

TEST_F(HttpGetTaskTest, ConnectionRefusedIsConnectionError) {
  // A bound socket that does not listen: connections to it are refused.
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t length = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length);
  const std::string url =
      absl::StrCat("http://127.0.0.1:", ntohs(addr.sin_port), "/");
  Outcome outcome = RunTask(spec_, Kwargs({{"url", Str(url)}}), token_);
  close(fd);
  const TaskError* error = ErrorOf(outcome);
  ASSERT_NE(error, nullptr) << Describe(outcome);
  EXPECT_EQ(error->type, "ConnectionError");
  EXPECT_THAT(error->message, HasSubstr(url));
  EXPECT_THAT(error->message, HasSubstr("onnect"));  // curl's own words
}

TEST_F(HttpGetTaskTest, SlowServerIsTimeoutError) {
  Outcome outcome = RunTask(
      spec_, Kwargs({{"url", Str(Url("/stall"))}, {"timeout", Num(0.2)}}),
      token_);
  const TaskError* error = ErrorOf(outcome);
  ASSERT_NE(error, nullptr) << Describe(outcome);
  EXPECT_EQ(error->type, "TimeoutError");
}

TEST_F(HttpGetTaskTest, SubmitDeadlineCapsTheTimeout) {
  // timeout=30 by default; the deadline is much sooner.
  Outcome outcome = Get("/stall", absl::Now() + absl::Milliseconds(200));
  const TaskError* error = ErrorOf(outcome);
  ASSERT_NE(error, nullptr) << Describe(outcome);
  EXPECT_EQ(error->type, "TimeoutError");
}

TEST_F(HttpGetTaskTest, BodyOverMaxBytesIsAnError) {
  for (const std::string path : {"/big", "/big-chunked"}) {
    Outcome outcome = RunTask(
        spec_, Kwargs({{"url", Str(Url(path))}, {"max_bytes", Num(1000)}}),
        token_);
    const TaskError* error = ErrorOf(outcome);
    ASSERT_NE(error, nullptr) << path << ": " << Describe(outcome);
    EXPECT_EQ(error->type, "ResponseTooLargeError") << path;
    EXPECT_THAT(error->message, HasSubstr("max_bytes=1000"));
    // Within the limit, the same page is fine.
    Outcome fits = RunTask(
        spec_, Kwargs({{"url", Str(Url(path))}, {"max_bytes", Num(5000)}}),
        token_);
    EXPECT_EQ(Field(fits, "bytes").number_value(), 5000) << Describe(fits);
  }
}

TEST_F(HttpGetTaskTest, MaxBytesHasAHardCap) {
  absl::StatusOr<BoundArgs> bound = Prepare(
      spec_, Kwargs({{"url", Str(Url("/page"))}, {"max_bytes", Num(1e12)}}));
  ASSERT_FALSE(bound.ok());
  EXPECT_EQ(bound.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(HttpGetTaskTest, OtherSchemesAreInvalidArgumentAtSubmit) {
  for (const std::string url :
       {"file:///etc/passwd", "gopher://127.0.0.1/", "ftp://127.0.0.1/",
        "127.0.0.1/page", "not a url"}) {
    absl::StatusOr<BoundArgs> bound =
        Prepare(spec_, Kwargs({{"url", Str(url)}}));
    ASSERT_FALSE(bound.ok()) << url;
    EXPECT_EQ(bound.status().code(), absl::StatusCode::kInvalidArgument)
        << url << ": " << bound.status();
  }
  EXPECT_TRUE(
      Prepare(spec_, Kwargs({{"url", Str("HTTPS://example.com")}})).ok());
}

TEST_F(HttpGetTaskTest, RedirectToAnotherSchemeIsRefused) {
  Outcome outcome = Get("/to-file");
  const TaskError* error = ErrorOf(outcome);
  ASSERT_NE(error, nullptr) << Describe(outcome);
  EXPECT_EQ(error->type, "InvalidSchema");
}

TEST_F(HttpGetTaskTest, CancelStopsAStalledFetch) {
  Outcome outcome;
  std::thread fetch([&] { outcome = Get("/stall"); });
  ASSERT_TRUE(stalled_.WaitForNotificationWithTimeout(kTestTimeout));
  token_.Cancel();
  fetch.join();  // returns within the loop's 100 ms check, not at timeout
  EXPECT_TRUE(IsCancelled(outcome)) << Describe(outcome);
}

}  // namespace
}  // namespace futured::server
