// The seed document's concurrent.futures examples (/work/shared/seed), run
// through the real futured daemon: concurrent downloads, large factorials
// with map, as_completed, a failing task, and map's input order.
#include <cmath>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_test.h"
#include "tests/integration/executor_calls.h"

namespace futured::testing {
namespace {

using ::futured::v1::AsCompletedRequest;
using ::futured::v1::FutureInfo;
using ::futured::v1::MapItem;
using ::futured::v1::MapRequest;
using ::futured::v1::Outcome;
using ::futured::v1::ResultRequest;
using ::futured::v1::SubmitRequest;

SubmitRequest DownloadCall(const std::string& url, double seconds) {
  return CallOf("simulate_download", {StringValue(url), NumberValue(seconds)});
}

// n! mod p, one multiplication at a time: independent of the daemon's GMP.
uint64_t FactorialMod(int64_t n, uint64_t p) {
  uint64_t product = 1;
  for (int64_t i = 2; i <= n; ++i) {
    product = product * (static_cast<uint64_t>(i) % p) % p;
  }
  return product;
}

// The decimal number `digits` mod p.
uint64_t DecimalMod(const std::string& digits, uint64_t p) {
  uint64_t value = 0;
  for (char c : digits)
    value = (value * 10 + static_cast<uint64_t>(c - '0')) % p;
  return value;
}

// Trailing zeros of n! (Legendre's formula for the prime 5).
int64_t FactorialTrailingZeros(int64_t n) {
  int64_t zeros = 0;
  for (int64_t power = 5; power <= n; power *= 5) zeros += n / power;
  return zeros;
}

// Every scenario runs on its own daemon on a unix socket.
class SeedScenariosTest : public DaemonTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  }
};

// Example 1: three 2-second downloads on a thread pool run concurrently.
TEST_F(SeedScenariosTest, ThreeDownloadsOverlapInTime) {
  const std::vector<std::string> urls = {
      "http://example.com", "http://python.org", "http://github.com"};
  std::map<std::string, std::string> url_of;  // future ID -> URL
  AsCompletedRequest request;
  for (const std::string& url : urls) {
    SubmitRequest call = CallOf("simulate_download", {StringValue(url)});
    const std::string id = MustSubmit(call);  // seconds defaults to 2
    url_of[id] = url;
    request.add_ids(id);
  }
  ASSERT_EQ(url_of.size(), 3u);

  std::vector<FutureInfo> completed;
  grpc::Status status = calls_->AsCompleted(request, &completed);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(completed.size(), 3u);
  std::set<std::string> seen;
  for (const FutureInfo& info : completed) {
    EXPECT_TRUE(seen.insert(info.id()).second) << "twice: " << info.id();
    ASSERT_EQ(url_of.count(info.id()), 1u) << info.ShortDebugString();
    ASSERT_EQ(info.outcome().kind_case(), Outcome::kValue)
        << info.ShortDebugString();
    EXPECT_EQ(info.outcome().value().string_value(),
              absl::StrCat("Content from ", url_of[info.id()]));
    ASSERT_TRUE(info.has_start_time() && info.has_end_time())
        << info.ShortDebugString();
    // By the server's clock each download lasted about its 2 s (sleeps
    // never end early; the margin only absorbs clock adjustments).
    EXPECT_GE(TimeFromProto(info.end_time()) - TimeFromProto(info.start_time()),
              absl::Milliseconds(1500))
        << info.ShortDebugString();
  }

  // Concurrent: every download started before every other one ended.
  for (const FutureInfo& a : completed) {
    for (const FutureInfo& b : completed) {
      if (a.id() == b.id()) continue;
      EXPECT_LT(TimeFromProto(a.start_time()), TimeFromProto(b.end_time()))
          << url_of[a.id()] << " started after " << url_of[b.id()]
          << " ended: " << a.ShortDebugString() << " / "
          << b.ShortDebugString();
    }
  }
}

// Example 2: executor.map(compute_factorial, [100000, ..., 130000]).
TEST_F(SeedScenariosTest, LargeFactorialsAreComputedInInputOrder) {
  const std::vector<int64_t> numbers = {100000, 110000, 120000, 130000};
  MapRequest request;
  request.set_function("factorial");
  for (int64_t n : numbers) *request.add_inputs() = NumberValue(n);
  std::vector<MapItem> items;
  grpc::Status status = calls_->Map(request, &items);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(items.size(), numbers.size());

  constexpr uint64_t kPrime = 1000000007;  // > every n, so n! mod p != 0
  for (size_t i = 0; i < numbers.size(); ++i) {
    const int64_t n = numbers[i];
    SCOPED_TRACE(absl::StrCat(n, "!"));
    EXPECT_EQ(items[i].index(), static_cast<int64_t>(i));
    ASSERT_EQ(items[i].outcome().kind_case(), Outcome::kValue)
        << items[i].outcome().ShortDebugString().substr(0, 200);
    const std::string& digits = items[i].outcome().value().string_value();
    ASSERT_FALSE(digits.empty());
    ASSERT_EQ(digits.find_first_not_of("0123456789"), std::string::npos)
        << "not a decimal: " << digits.substr(0, 40);
    EXPECT_NE(digits[0], '0');

    // log10(n!) = lgamma(n + 1) / ln(10).
    const auto expected_digits = static_cast<size_t>(
        std::floor(std::lgamma(static_cast<double>(n) + 1) / std::log(10.0)) +
        1);
    EXPECT_EQ(digits.size(), expected_digits);
    const size_t trailing_zeros =
        digits.size() - 1 - digits.find_last_not_of('0');
    EXPECT_EQ(static_cast<int64_t>(trailing_zeros), FactorialTrailingZeros(n));
    EXPECT_EQ(DecimalMod(digits, kPrime), FactorialMod(n, kPrime));
  }
}

// Pattern 2: as_completed over tasks of different lengths.
TEST_F(SeedScenariosTest, AsCompletedYieldsDownloadsAsTheyFinish) {
  const std::vector<std::pair<std::string, double>> downloads = {
      {"http://slow.example", 1.2},
      {"http://fast.example", 0.2},
      {"http://medium.example", 0.7}};
  std::map<std::string, std::string> url_of;
  AsCompletedRequest request;
  for (const auto& [url, seconds] : downloads) {
    const std::string id = MustSubmit(DownloadCall(url, seconds));
    url_of[id] = url;
    request.add_ids(id);
  }

  std::vector<FutureInfo> completed;
  grpc::Status status = calls_->AsCompleted(request, &completed);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(completed.size(), 3u);
  std::vector<std::string> order;
  for (const FutureInfo& info : completed) {
    order.push_back(url_of[info.id()]);
    ASSERT_EQ(info.outcome().kind_case(), Outcome::kValue)
        << info.ShortDebugString();
    EXPECT_EQ(info.outcome().value().string_value(),
              absl::StrCat("Content from ", url_of[info.id()]));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"http://fast.example",
                                             "http://medium.example",
                                             "http://slow.example"}));
  for (size_t i = 1; i < completed.size(); ++i) {
    EXPECT_LE(TimeFromProto(completed[i - 1].end_time()),
              TimeFromProto(completed[i].end_time()))
        << completed[i - 1].ShortDebugString() << " streamed before "
        << completed[i].ShortDebugString();
  }
}

// Pattern 3: result(timeout) over a task that succeeds, one that raises and
// one that takes too long.
TEST_F(SeedScenariosTest, FailingTaskYieldsItsErrorAndSlowOneTimesOut) {
  SubmitRequest failing = CallOf("fail");
  (*failing.mutable_kwargs()->mutable_fields())["type"] =
      StringValue("ValueError");
  (*failing.mutable_kwargs()->mutable_fields())["message"] =
      StringValue("Task 2 failed deliberately");
  const std::string ok_id = MustSubmit(DownloadCall("task 1", 1));
  const std::string failing_id = MustSubmit(failing);
  // Far longer than the Result timeout; cancelled at the end.
  const std::string slow_id = MustSubmit(DownloadCall("task 3", 60));

  auto result = [&](const std::string& id, FutureInfo* info) {
    ResultRequest request;
    request.set_id(id);
    *request.mutable_timeout() = DurationProto(absl::Seconds(5));
    return calls_->Result(request, info);
  };

  FutureInfo info;
  grpc::Status status = result(ok_id, &info);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(info.outcome().kind_case(), Outcome::kValue)
      << info.ShortDebugString();
  EXPECT_EQ(info.outcome().value().string_value(), "Content from task 1");

  info.Clear();
  status = result(failing_id, &info);
  ASSERT_TRUE(status.ok()) << "a task that raised is an OK call: "
                           << StatusText(status);
  EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_FINISHED);
  ASSERT_EQ(info.outcome().kind_case(), Outcome::kError)
      << info.ShortDebugString();
  EXPECT_EQ(info.outcome().error().type(), "ValueError");
  EXPECT_EQ(info.outcome().error().message(), "Task 2 failed deliberately");

  info.Clear();
  status = result(slow_id, &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << StatusText(status);

  futured::v1::CancelResponse cancel;
  status = calls_->Cancel(slow_id, &cancel);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_TRUE(cancel.cancelled()) << cancel.ShortDebugString();
}

// Pattern 1: executor.map(process_item, 1..10) keeps the input order, even
// when later inputs finish first.
TEST_F(SeedScenariosTest, MapKeepsInputOrder) {
  MapRequest squares;
  squares.set_function("square");
  for (int i = 1; i <= 10; ++i) *squares.add_inputs() = NumberValue(i);
  std::vector<MapItem> items;
  grpc::Status status = calls_->Map(squares, &items);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  std::vector<double> results;
  for (const MapItem& item : items) {
    results.push_back(item.outcome().value().number_value());
  }
  EXPECT_EQ(results,
            (std::vector<double>{1, 4, 9, 16, 25, 36, 49, 64, 81, 100}));

  MapRequest sleeps;
  sleeps.set_function("sleep");
  for (double seconds : {0.6, 0.1, 0.3}) {
    *sleeps.add_inputs() = NumberValue(seconds);
  }
  items.clear();
  status = calls_->Map(sleeps, &items);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(items.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(items[i].index(), i);
  EXPECT_EQ(items[0].outcome().value().number_value(), 0.6);
  EXPECT_EQ(items[1].outcome().value().number_value(), 0.1);
  EXPECT_EQ(items[2].outcome().value().number_value(), 0.3);
  // The server's clock shows the first input finished last.
  EXPECT_GT(TimeFromProto(items[0].end_time()),
            TimeFromProto(items[1].end_time()))
      << items[0].ShortDebugString() << " / " << items[1].ShortDebugString();
  EXPECT_GT(TimeFromProto(items[0].end_time()),
            TimeFromProto(items[2].end_time()))
      << items[0].ShortDebugString() << " / " << items[2].ShortDebugString();
}

}  // namespace
}  // namespace futured::testing
