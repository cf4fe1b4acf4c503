#include "server/future/retry_policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace futured::server {
namespace {

using ::testing::HasSubstr;

RetryPolicy Valid() {
  return RetryPolicy{.max_attempts = 3, .retry_on = {"ValueError"}};
}

TEST(RetryPolicyTest, RetriesTheTypesItNamesWhileAttemptsAreLeft) {
  const RetryPolicy policy{.max_attempts = 3,
                           .retry_on = {"ValueError", "WorkerDiedError"}};
  EXPECT_TRUE(policy.Retries({.type = "ValueError"}, 1));
  EXPECT_TRUE(policy.Retries({.type = "WorkerDiedError"}, 2));
  EXPECT_FALSE(policy.Retries({.type = "ValueError"}, 3)) << "the last";
  EXPECT_FALSE(policy.Retries({.type = "KeyError"}, 1));
  EXPECT_FALSE(policy.Retries({.type = "valueerror"}, 1)) << "exact names";
}

TEST(RetryPolicyTest, BackoffGrowsByTheMultiplierUpToItsMaximum) {
  const RetryPolicy policy{.max_attempts = 10,
                           .retry_on = {"ValueError"},
                           .initial_backoff = absl::Seconds(1),
                           .max_backoff = absl::Seconds(10),
                           .multiplier = 3,
                           .jitter = 0};
  EXPECT_EQ(policy.BackoffBefore(2, 0.9), absl::Seconds(1));
  EXPECT_EQ(policy.BackoffBefore(3, 0.9), absl::Seconds(3));
  EXPECT_EQ(policy.BackoffBefore(4, 0.9), absl::Seconds(9));
  EXPECT_EQ(policy.BackoffBefore(5, 0.9), absl::Seconds(10));
  EXPECT_EQ(policy.BackoffBefore(100, 0.9), absl::Seconds(10));
}

TEST(RetryPolicyTest, JitterShortensTheWaitByUpToItsShare) {
  RetryPolicy policy = Valid();
  policy.initial_backoff = absl::Seconds(8);
  policy.max_backoff = absl::Seconds(8);
  policy.jitter = 0.5;
  EXPECT_EQ(policy.BackoffBefore(2, 0), absl::Seconds(8));
  EXPECT_EQ(policy.BackoffBefore(2, 0.5), absl::Seconds(6));
  EXPECT_GT(policy.BackoffBefore(2, 0.999999), absl::Seconds(4));
}

TEST(RetryPolicyTest, ValidateNamesTheFieldThatIsOutOfBounds) {
  struct Case {
    void (*spoil)(RetryPolicy&);
    const char* says;
  };
  const Case cases[] = {
      {[](RetryPolicy& p) { p.max_attempts = 0; }, "max_attempts must be"},
      {[](RetryPolicy& p) { p.max_attempts = 101; }, "from 1 to 100"},
      {[](RetryPolicy& p) { p.retry_on.clear(); }, "names no error type"},
      {[](RetryPolicy& p) { p.retry_on.push_back(""); }, "1 to 128 bytes"},
      {[](RetryPolicy& p) { p.retry_on.assign(33, "E"); }, "at most 32"},
      {[](RetryPolicy& p) { p.initial_backoff = absl::Seconds(-1); },
       "initial_backoff must be from 0 to 1h"},
      {[](RetryPolicy& p) { p.max_backoff = absl::Hours(2); },
       "max_backoff must be from 0 to 1h"},
      {[](RetryPolicy& p) { p.initial_backoff = absl::Minutes(5); },
       "is longer than retry_policy.max_backoff"},
      {[](RetryPolicy& p) { p.multiplier = 0.5; }, "multiplier must be"},
      {[](RetryPolicy& p) { p.jitter = 1.5; }, "jitter must be from 0 to 1"},
  };
  EXPECT_TRUE(Valid().Validate().ok());
  for (const Case& c : cases) {
    RetryPolicy policy = Valid();
    c.spoil(policy);
    const absl::Status status = policy.Validate();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.says;
    EXPECT_THAT(status.message(), HasSubstr(c.says));
    EXPECT_THAT(status.message(), HasSubstr("retry_policy."));
  }
}

}  // namespace
}  // namespace futured::server
