// The seed's examples (examples/), each run as a user would run it against a
// test daemon: its exit status and its printed lines, checked for content
// and, where the seed fixes it, order. Times are printed by the examples but
// never checked: only their format is.

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "futured/futured.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/integration/client_fixture.h"
#include "tests/integration/program_run.h"

namespace futured::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::SizeIs;
using ::testing::UnorderedElementsAre;

std::string ExamplePath(const std::string& name) {
  return absl::StrCat(FUTURED_EXAMPLES_DIR, "/", name);
}

// A time as the seed prints it, with `decimals` digits after the point.
std::string Seconds(int decimals) {
  return absl::StrCat("[0-9]+\\.[0-9]{", decimals, "} seconds");
}

class ExamplesTest : public ClientTest {
 protected:
  void SetUp() override {
    // The daemon inherits this: its http.get must reach the test's local
    // server directly even where proxy variables are set.
    setenv("no_proxy", "127.0.0.1", 1);
    // Enough threads for the widest example (as_completed: five at once).
    ASSERT_NO_FATAL_FAILURE(StartDaemon({"--threads=8"}));
  }

  // Runs example `name` with the daemon's address as its argument; expects
  // exit status 0 and nothing on stderr, and returns its stdout lines.
  std::vector<std::string> Run(const std::string& name) {
    absl::StatusOr<ProgramResult> result =
        RunProgram({ExamplePath(name), daemon_->address()});
    if (!result.ok()) {
      ADD_FAILURE() << name << ": " << result.status();
      return {};
    }
    EXPECT_EQ(result->exit_code, 0) << name << " stderr: " << result->err;
    EXPECT_EQ(result->err, "") << name;
    return Lines(result->out);
  }
};

TEST_F(ExamplesTest, DownloadsSequentialThenThreadPool) {
  const std::vector<std::string> lines = Run("downloads");
  ASSERT_THAT(lines, SizeIs(11)) << absl::StrJoin(lines, "\n");
  const std::vector<std::string> urls = {
      "http://example.com", "http://python.org", "http://github.com"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(lines[i], absl::StrCat("Downloading ", urls[i], "..."));
    EXPECT_EQ(lines[4 + i], absl::StrCat("Downloading ", urls[i], "..."));
  }
  EXPECT_EQ(lines[3], "All downloads complete");
  // As completed: each URL once, in whatever order they finished.
  std::set<std::string> downloaded;
  const std::regex done(absl::StrCat("Downloaded (\\S+) in ", Seconds(2)));
  for (int i = 7; i < 10; ++i) {
    std::smatch match;
    ASSERT_TRUE(std::regex_match(lines[i], match, done)) << lines[i];
    downloaded.insert(match[1]);
  }
  EXPECT_EQ(downloaded, std::set<std::string>(urls.begin(), urls.end()));
  EXPECT_THAT(lines[10],
              MatchesRegex(absl::StrCat("Total time: ", Seconds(2))));
}

TEST_F(ExamplesTest, ProcessFactorialsInInputOrder) {
  ASSERT_EQ(Pool("process").kind, "process");
  const std::vector<std::string> lines = Run("process_factorials");
  ASSERT_THAT(lines, SizeIs(9)) << absl::StrJoin(lines, "\n");
  // The leading digits of n!, which the seed's result[:30] shows.
  const std::vector<std::pair<int, std::string>> expected = {
      {100000, "2824229"},
      {110000, "5274054"},
      {120000, "2240671"},
      {130000, "2038047"}};
  for (int i = 0; i < 4; ++i) {
    const auto& [n, digits] = expected[i];
    EXPECT_EQ(lines[i], absl::StrCat("Computing factorial of ", n, "..."));
    EXPECT_THAT(lines[4 + i],
                MatchesRegex(absl::StrCat(
                    "Result for ", n, ": Factorial of ", n, " is ", digits,
                    "\\.\\.\\. \\(computed in ", Seconds(2), "\\)")));
  }
  EXPECT_THAT(lines[8], MatchesRegex(absl::StrCat("Total time: ", Seconds(2))));
}

TEST_F(ExamplesTest, MapSquaresPrintsThePythonList) {
  EXPECT_THAT(Run("map_squares"),
              ElementsAre("[1, 4, 9, 16, 25, 36, 49, 64, 81, 100]"));
}

TEST_F(ExamplesTest, AsCompletedSleepsYieldsEachTaskOnce) {
  const std::vector<std::string> lines = Run("as_completed_sleeps");
  ASSERT_THAT(lines, SizeIs(10)) << absl::StrJoin(lines, "\n");
  for (int i = 0; i < 5; ++i) {
    // Drawn from [0.5, 3).
    EXPECT_THAT(lines[i],
                MatchesRegex(absl::StrCat("Task ", i,
                                          " sleeping for "
                                          "(0\\.[5-9][0-9]|[12]\\.[0-9]{2}|"
                                          "3\\.00) seconds")));
  }
  // In completion order, which the random sleeps decide.
  EXPECT_THAT(std::vector<std::string>(lines.begin() + 5, lines.end()),
              UnorderedElementsAre("Got result: Result from task 0",
                                   "Got result: Result from task 1",
                                   "Got result: Result from task 2",
                                   "Got result: Result from task 3",
                                   "Got result: Result from task 4"));
}

TEST_F(ExamplesTest, TimeoutsAndExceptionsInSubmissionOrder) {
  EXPECT_THAT(Run("timeouts_and_exceptions"),
              ElementsAre("Starting task 1", "Starting task 2",
                          "Starting task 3", "Success: Result from task 1",
                          "Task failed with error: Task 2 failed deliberately",
                          "Task timed out"));
}

TEST_F(ExamplesTest, WebScraperPrintsTitlesFromALocalServer) {
  // The seed's sites stand in for by a cpp-httplib server on 127.0.0.1.
  httplib::Server server;
  const std::string long_title(60, 'T');
  server.Get("/python", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("<title>Welcome to Python.org</title>", "text/html");
  });
  server.Get("/long", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content(absl::StrCat("<title>", long_title, "</title>"),
                    "text/html");
  });
  server.Get("/untitled", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("<p>nothing</p>", "text/html");
  });
  server.Get("/missing", [](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread serving([&] { server.listen_after_bind(); });
  // A bound socket that does not listen: connections to it are refused.
  const int unlistened = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(unlistened, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(unlistened, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)),
            0);
  socklen_t length = sizeof(addr);
  getsockname(unlistened, reinterpret_cast<sockaddr*>(&addr), &length);
  const int refused_port = ntohs(addr.sin_port);
  const std::string base = absl::StrCat("http://127.0.0.1:", port);
  const std::vector<std::string> urls = {
      base + "/python", base + "/long", base + "/untitled", base + "/missing",
      absl::StrCat("http://127.0.0.1:", refused_port, "/")};
  std::vector<std::string> argv = {ExamplePath("web_scraper"),
                                   daemon_->address()};
  argv.insert(argv.end(), urls.begin(), urls.end());
  absl::StatusOr<ProgramResult> result = RunProgram(argv);
  server.stop();
  serving.join();
  close(unlistened);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0) << result->err;
  const std::vector<std::string> lines = Lines(result->out);
  ASSERT_THAT(lines, SizeIs(12)) << result->out;
  for (size_t i = 0; i < urls.size(); ++i) {
    EXPECT_EQ(lines[i], absl::StrCat("Fetching ", urls[i]));
  }
  // As completed: in whatever order the fetches finished.
  EXPECT_THAT(
      std::vector<std::string>(lines.begin() + 5, lines.begin() + 10),
      UnorderedElementsAre(
          absl::StrCat("✓ ", urls[0], " - Title: Welcome to Python.org..."),
          absl::StrCat("✓ ", urls[1], " - Title: ", long_title.substr(0, 50),
                       "..."),
          absl::StrCat("✓ ", urls[2], " - Title: No title found..."),
          absl::StrCat("✗ ", urls[3], " - Error: error-404"),
          absl::StrCat("✗ ", urls[4], " - Error: error-ConnectionError")));
  EXPECT_EQ(lines[10], "");
  EXPECT_THAT(lines[11],
              MatchesRegex(absl::StrCat("Scraped 5 websites in ", Seconds(2))));
}

TEST_F(ExamplesTest, StartupOverheadTimesBothPools) {
  EXPECT_THAT(
      Run("startup_overhead"),
      ElementsAre(
          MatchesRegex(absl::StrCat("ProcessPoolExecutor took ", Seconds(4))),
          MatchesRegex(absl::StrCat("ThreadPoolExecutor took ", Seconds(4)))));
}

TEST_F(ExamplesTest, TargetFromTheEnvironment) {
  absl::StatusOr<ProgramResult> result = RunProgram(
      {ExamplePath("map_squares")},
      {.env = {absl::StrCat("FUTURED_TARGET=", daemon_->address())}});
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->exit_code, 0) << result->err;
  EXPECT_THAT(Lines(result->out),
              ElementsAre("[1, 4, 9, 16, 25, 36, 49, 64, 81, 100]"));
}

TEST_F(ExamplesTest, UnreachableDaemonIsExitStatusOne) {
  // The test daemon's socket directory, with a name nothing listens on.
  const std::string address = daemon_->address();
  const std::string unused =
      absl::StrCat(address.substr(0, address.rfind('/')), "/nobody.sock");
  for (const std::string name :
       {"downloads", "process_factorials", "map_squares", "as_completed_sleeps",
        "timeouts_and_exceptions", "web_scraper", "startup_overhead"}) {
    absl::StatusOr<ProgramResult> result =
        RunProgram({ExamplePath(name), unused});
    ASSERT_TRUE(result.ok()) << name << ": " << result.status();
    EXPECT_EQ(result->exit_code, 1) << name;
    EXPECT_THAT(result->err, HasSubstr("UNAVAILABLE")) << name;
  }
}

}  // namespace
}  // namespace futured::testing
