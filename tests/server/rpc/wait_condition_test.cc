#include "server/rpc/wait_condition.h"

#include "gtest/gtest.h"

namespace futured::server {
namespace {

TEST(WaitConditionTest, FirstCompletedNeedsOneDone) {
  WaitCondition c(ReturnWhen::kFirstCompleted, 3);
  EXPECT_FALSE(c.Satisfied());
  c.OnDone(/*raised=*/false);
  EXPECT_TRUE(c.Satisfied());
}

TEST(WaitConditionTest, FirstExceptionWaitsForARaise) {
  WaitCondition c(ReturnWhen::kFirstException, 3);
  c.OnDone(false);
  EXPECT_FALSE(c.Satisfied());
  c.OnDone(true);
  EXPECT_TRUE(c.Satisfied());
}

TEST(WaitConditionTest, FirstExceptionWithoutRaiseIsAllCompleted) {
  WaitCondition c(ReturnWhen::kFirstException, 2);
  c.OnDone(false);
  EXPECT_FALSE(c.Satisfied());
  c.OnDone(false);
  EXPECT_TRUE(c.Satisfied());
}

TEST(WaitConditionTest, AllCompletedNeedsAll) {
  WaitCondition c(ReturnWhen::kAllCompleted, 2);
  c.OnDone(true);
  EXPECT_FALSE(c.Satisfied());
  c.OnDone(false);
  EXPECT_TRUE(c.Satisfied());
}

TEST(WaitConditionTest, NoFuturesIsSatisfiedInEveryMode) {
  for (ReturnWhen mode :
       {ReturnWhen::kFirstCompleted, ReturnWhen::kFirstException,
        ReturnWhen::kAllCompleted}) {
    EXPECT_TRUE(WaitCondition(mode, 0).Satisfied());
  }
}

}  // namespace
}  // namespace futured::server
