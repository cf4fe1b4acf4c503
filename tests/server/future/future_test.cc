#include "server/future/future.h"

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"
#include "server/task/outcome.h"

namespace futured::server {
namespace {

using ::google::protobuf::Value;
using ::testing::ElementsAre;

const absl::Time kSubmit = absl::FromUnixSeconds(1000);
const absl::Time kStart = absl::FromUnixSeconds(1001);
const absl::Time kEnd = absl::FromUnixSeconds(1002);
const absl::Time kDeadline = absl::FromUnixSeconds(2000);

Value Num(double d) {
  Value v;
  v.set_number_value(d);
  return v;
}

class FutureTest : public ::testing::Test {
 protected:
  Future future_{"id-1", "square", "thread", kSubmit, kDeadline};
};

TEST(FutureStateNameTest, NamesEveryState) {
  EXPECT_STREQ(FutureStateName(FutureState::kPending), "PENDING");
  EXPECT_STREQ(FutureStateName(FutureState::kRunning), "RUNNING");
  EXPECT_STREQ(FutureStateName(FutureState::kFinished), "FINISHED");
  EXPECT_STREQ(FutureStateName(FutureState::kCancelled), "CANCELLED");
}

TEST_F(FutureTest, StartsPendingWithItsConstructionFields) {
  EXPECT_EQ(future_.id(), "id-1");
  EXPECT_EQ(future_.function(), "square");
  EXPECT_EQ(future_.pool(), "thread");
  EXPECT_EQ(future_.deadline(), kDeadline);
  EXPECT_EQ(future_.state(), FutureState::kPending);
  EXPECT_FALSE(future_.done());
  EXPECT_FALSE(future_.token().IsCancelled());

  const FutureSnapshot snapshot = future_.Snapshot();
  EXPECT_EQ(snapshot.id, "id-1");
  EXPECT_EQ(snapshot.function, "square");
  EXPECT_EQ(snapshot.pool, "thread");
  EXPECT_EQ(snapshot.state, FutureState::kPending);
  EXPECT_FALSE(snapshot.done());
  EXPECT_FALSE(snapshot.outcome.has_value());
  EXPECT_EQ(snapshot.submit_time, kSubmit);
  EXPECT_FALSE(snapshot.start_time.has_value());
  EXPECT_FALSE(snapshot.end_time.has_value());
  EXPECT_EQ(snapshot.deadline, kDeadline);
}

TEST(FutureDeadlineTest, DefaultsToNone) {
  Future future("id", "f", "thread", kSubmit);
  EXPECT_EQ(future.deadline(), absl::InfiniteFuture());
}

TEST_F(FutureTest, StartMovesPendingToRunningOnce) {
  EXPECT_TRUE(future_.Start(kStart));
  EXPECT_EQ(future_.state(), FutureState::kRunning);
  EXPECT_FALSE(future_.done());
  EXPECT_EQ(future_.Snapshot().start_time, kStart);

  EXPECT_FALSE(future_.Start(kEnd));
  EXPECT_EQ(future_.Snapshot().start_time, kStart);
}

TEST_F(FutureTest, StartRecordsTheWorkerProcess) {
  EXPECT_EQ(future_.Snapshot().worker_pid, 0);
  EXPECT_TRUE(future_.Start(kStart, /*worker_pid=*/4242));
  EXPECT_EQ(future_.Snapshot().worker_pid, 4242);
}

TEST_F(FutureTest, CancelOfARunningFutureRunsItsTokensCancelCallbacks) {
  ASSERT_TRUE(future_.Start(kStart));
  int stop_requests = 0;
  future_.token().AddCancelCallback([&stop_requests] { ++stop_requests; });
  EXPECT_EQ(future_.Cancel(kEnd), CancelAction::kStopRequested);
  EXPECT_EQ(stop_requests, 1);
  EXPECT_EQ(future_.state(), FutureState::kRunning);
}

TEST_F(FutureTest, FinishMovesRunningToFinishedWithTheOutcome) {
  ASSERT_TRUE(future_.Start(kStart));
  EXPECT_TRUE(future_.Finish(Num(4), kEnd));

  const FutureSnapshot snapshot = future_.Snapshot();
  EXPECT_EQ(snapshot.state, FutureState::kFinished);
  EXPECT_TRUE(snapshot.done());
  EXPECT_TRUE(future_.done());
  ASSERT_TRUE(snapshot.outcome.has_value());
  ASSERT_TRUE(std::holds_alternative<Value>(*snapshot.outcome));
  EXPECT_EQ(std::get<Value>(*snapshot.outcome).number_value(), 4);
  EXPECT_EQ(snapshot.submit_time, kSubmit);
  EXPECT_EQ(snapshot.start_time, kStart);
  EXPECT_EQ(snapshot.end_time, kEnd);
}

TEST_F(FutureTest, FinishKeepsAnError) {
  ASSERT_TRUE(future_.Start(kStart));
  EXPECT_TRUE(
      future_.Finish(TaskError{.type = "ValueError", .message = "no"}, kEnd));

  const FutureSnapshot snapshot = future_.Snapshot();
  EXPECT_EQ(snapshot.state, FutureState::kFinished);
  ASSERT_TRUE(IsError(*snapshot.outcome));
  EXPECT_EQ(std::get<TaskError>(*snapshot.outcome).type, "ValueError");
}

TEST_F(FutureTest, FinishMovesPendingToFinishedWithoutAStartTime) {
  EXPECT_TRUE(future_.Finish(
      TaskError{.type = "TimeoutError", .message = "late"}, kEnd));

  const FutureSnapshot snapshot = future_.Snapshot();
  EXPECT_EQ(snapshot.state, FutureState::kFinished);
  EXPECT_FALSE(snapshot.start_time.has_value());
  EXPECT_EQ(snapshot.end_time, kEnd);
  EXPECT_FALSE(future_.Start(kEnd));  // it failed before it could start
}

TEST_F(FutureTest, FinishWithCancelledMovesRunningToCancelled) {
  ASSERT_TRUE(future_.Start(kStart));
  EXPECT_TRUE(future_.Finish(Cancelled{}, kEnd));

  const FutureSnapshot snapshot = future_.Snapshot();
  EXPECT_EQ(snapshot.state, FutureState::kCancelled);
  EXPECT_TRUE(snapshot.done());
  ASSERT_TRUE(snapshot.outcome.has_value());
  EXPECT_TRUE(IsCancelled(*snapshot.outcome));
  EXPECT_EQ(snapshot.end_time, kEnd);
}

TEST_F(FutureTest, FinishWithCancelledIsRefusedForAPendingFuture) {
  EXPECT_FALSE(future_.Finish(Cancelled{}, kEnd));
  EXPECT_EQ(future_.state(), FutureState::kPending);
  EXPECT_FALSE(future_.Snapshot().end_time.has_value());
}

TEST_F(FutureTest, FinishAfterDoneIsRefusedAndDropsTheOutcome) {
  ASSERT_TRUE(future_.Start(kStart));
  ASSERT_TRUE(future_.Finish(Num(1), kEnd));

  EXPECT_FALSE(future_.Finish(Num(2), kEnd + absl::Seconds(1)));
  EXPECT_FALSE(future_.Finish(Cancelled{}, kEnd + absl::Seconds(1)));
  const FutureSnapshot snapshot = future_.Snapshot();
  EXPECT_EQ(snapshot.state, FutureState::kFinished);
  EXPECT_EQ(std::get<Value>(*snapshot.outcome).number_value(), 1);
  EXPECT_EQ(snapshot.end_time, kEnd);
}

TEST_F(FutureTest, CancelOfAPendingFutureCancelsIt) {
  EXPECT_EQ(future_.Cancel(kEnd), CancelAction::kCancelledPending);

  const FutureSnapshot snapshot = future_.Snapshot();
  EXPECT_EQ(snapshot.state, FutureState::kCancelled);
  ASSERT_TRUE(snapshot.outcome.has_value());
  EXPECT_TRUE(IsCancelled(*snapshot.outcome));
  EXPECT_FALSE(snapshot.start_time.has_value());
  EXPECT_EQ(snapshot.end_time, kEnd);
  EXPECT_TRUE(future_.token().IsCancelled());
  EXPECT_FALSE(future_.Start(kEnd));  // it never runs
  EXPECT_FALSE(future_.Finish(Num(1), kEnd));
}

TEST_F(FutureTest, CancelOfARunningFutureOnlyRequestsAStop) {
  ASSERT_TRUE(future_.Start(kStart));
  EXPECT_EQ(future_.Cancel(kEnd), CancelAction::kStopRequested);

  EXPECT_EQ(future_.state(), FutureState::kRunning);
  EXPECT_TRUE(future_.token().IsCancelled());
  EXPECT_FALSE(future_.Snapshot().end_time.has_value());

  // The task sees its token and stops.
  EXPECT_TRUE(future_.Finish(Cancelled{}, kEnd));
  EXPECT_EQ(future_.state(), FutureState::kCancelled);
}

TEST_F(FutureTest, CancelOfARunningFutureLetsATaskThatFinishesAnywayFinish) {
  ASSERT_TRUE(future_.Start(kStart));
  ASSERT_EQ(future_.Cancel(kEnd), CancelAction::kStopRequested);

  EXPECT_TRUE(future_.Finish(Num(1), kEnd));
  EXPECT_EQ(future_.state(), FutureState::kFinished);
}

TEST_F(FutureTest, CancelOfADoneFutureChangesNothing) {
  ASSERT_TRUE(future_.Start(kStart));
  ASSERT_TRUE(future_.Finish(Num(1), kEnd));

  EXPECT_EQ(future_.Cancel(kEnd + absl::Seconds(1)),
            CancelAction::kAlreadyDone);
  EXPECT_EQ(future_.state(), FutureState::kFinished);
  EXPECT_FALSE(future_.token().IsCancelled());
  EXPECT_EQ(future_.Snapshot().end_time, kEnd);
}

TEST_F(FutureTest, CancelOfACancelledFutureIsAlreadyDone) {
  ASSERT_EQ(future_.Cancel(kEnd), CancelAction::kCancelledPending);
  EXPECT_EQ(future_.Cancel(kEnd), CancelAction::kAlreadyDone);
}

TEST_F(FutureTest, CancelIfPendingOfAPendingFutureCancelsIt) {
  int calls = 0;
  future_.AddDoneCallback([&calls] { ++calls; });
  EXPECT_EQ(future_.CancelIfPending(kEnd), CancelAction::kCancelledPending);

  const FutureSnapshot snapshot = future_.Snapshot();
  EXPECT_EQ(snapshot.state, FutureState::kCancelled);
  ASSERT_TRUE(snapshot.outcome.has_value());
  EXPECT_TRUE(IsCancelled(*snapshot.outcome));
  EXPECT_FALSE(snapshot.start_time.has_value());
  EXPECT_EQ(snapshot.end_time, kEnd);
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(future_.Start(kEnd));  // it never runs
}

TEST_F(FutureTest, CancelIfPendingOfARunningFutureLeavesItAlone) {
  int calls = 0;
  ASSERT_TRUE(future_.Start(kStart));
  future_.AddDoneCallback([&calls] { ++calls; });
  EXPECT_EQ(future_.CancelIfPending(kEnd), CancelAction::kLeftRunning);

  EXPECT_EQ(future_.state(), FutureState::kRunning);
  EXPECT_FALSE(future_.token().IsCancelled());
  EXPECT_FALSE(future_.Snapshot().end_time.has_value());
  EXPECT_EQ(calls, 0);

  // Its task finishes with its value.
  EXPECT_TRUE(future_.Finish(Num(1), kEnd));
  EXPECT_EQ(future_.state(), FutureState::kFinished);
  EXPECT_EQ(calls, 1);
}

TEST_F(FutureTest, CancelIfPendingOfADoneFutureChangesNothing) {
  ASSERT_TRUE(future_.Start(kStart));
  ASSERT_TRUE(future_.Finish(Num(1), kEnd));

  EXPECT_EQ(future_.CancelIfPending(kEnd + absl::Seconds(1)),
            CancelAction::kAlreadyDone);
  EXPECT_EQ(future_.state(), FutureState::kFinished);
  EXPECT_FALSE(future_.token().IsCancelled());
  EXPECT_EQ(future_.Snapshot().end_time, kEnd);
}

TEST_F(FutureTest, CancelIfPendingOfACancelledFutureIsAlreadyDone) {
  ASSERT_EQ(future_.CancelIfPending(kEnd), CancelAction::kCancelledPending);
  EXPECT_EQ(future_.CancelIfPending(kEnd), CancelAction::kAlreadyDone);
  EXPECT_EQ(future_.Cancel(kEnd), CancelAction::kAlreadyDone);
}

TEST_F(FutureTest, CancelIfPendingRacingStartEitherCancelsOrLeavesRunning) {
  // Whichever wins, the two agree: a future that started is never cancelled
  // and its token never told, and one cancelled never starts.
  for (int i = 0; i < 200; ++i) {
    Future future("id-race", "square", "thread", kSubmit);
    bool started = false;
    std::thread starter([&] { started = future.Start(kStart); });
    const CancelAction action = future.CancelIfPending(kEnd);
    starter.join();
    if (started) {
      EXPECT_EQ(action, CancelAction::kLeftRunning);
      EXPECT_EQ(future.state(), FutureState::kRunning);
      EXPECT_FALSE(future.token().IsCancelled());
    } else {
      EXPECT_EQ(action, CancelAction::kCancelledPending);
      EXPECT_EQ(future.state(), FutureState::kCancelled);
    }
  }
}

TEST_F(FutureTest, RequestStopCancelsOnlyTheToken) {
  ASSERT_TRUE(future_.Finish(
      TaskError{.type = "TimeoutError", .message = "late"}, kEnd));
  future_.RequestStop();
  EXPECT_TRUE(future_.token().IsCancelled());
  EXPECT_EQ(future_.state(), FutureState::kFinished);
}

TEST_F(FutureTest, DoneCallbacksRunExactlyOnceWhenItFinishes) {
  int first = 0;
  int second = 0;
  EXPECT_NE(future_.AddDoneCallback([&first] { ++first; }), 0u);
  EXPECT_NE(future_.AddDoneCallback([&second] { ++second; }), 0u);
  ASSERT_TRUE(future_.Start(kStart));
  EXPECT_EQ(first, 0);

  ASSERT_TRUE(future_.Finish(Num(1), kEnd));
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 1);
  future_.Cancel(kEnd);
  future_.Finish(Num(2), kEnd);
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 1);
}

TEST_F(FutureTest, DoneCallbacksRunWhenAPendingFutureIsCancelled) {
  int calls = 0;
  future_.AddDoneCallback([&calls] { ++calls; });
  ASSERT_EQ(future_.Cancel(kEnd), CancelAction::kCancelledPending);
  EXPECT_EQ(calls, 1);
  future_.Cancel(kEnd);
  EXPECT_EQ(calls, 1);
}

TEST_F(FutureTest, DoneCallbacksWaitForTheEndOfARunningFutureCancelled) {
  int calls = 0;
  ASSERT_TRUE(future_.Start(kStart));
  future_.AddDoneCallback([&calls] { ++calls; });
  ASSERT_EQ(future_.Cancel(kEnd), CancelAction::kStopRequested);
  EXPECT_EQ(calls, 0);
  ASSERT_TRUE(future_.Finish(Cancelled{}, kEnd));
  EXPECT_EQ(calls, 1);
}

TEST_F(FutureTest, DoneCallbackSeesTheFinalStateWithNoLockHeld) {
  std::optional<FutureSnapshot> seen;
  future_.AddDoneCallback([this, &seen] { seen = future_.Snapshot(); });
  ASSERT_TRUE(future_.Start(kStart));
  ASSERT_TRUE(future_.Finish(Num(3), kEnd));

  ASSERT_TRUE(seen.has_value());
  EXPECT_EQ(seen->state, FutureState::kFinished);
  EXPECT_EQ(seen->end_time, kEnd);
}

TEST_F(FutureTest, DoneCallbacksRunOnTheCompletingThread) {
  std::thread::id ran_on;
  future_.AddDoneCallback([&ran_on] { ran_on = std::this_thread::get_id(); });
  ASSERT_TRUE(future_.Start(kStart));
  std::thread finisher([this] { future_.Finish(Num(1), kEnd); });
  const std::thread::id finisher_id = finisher.get_id();
  finisher.join();

  EXPECT_EQ(ran_on, finisher_id);
}

TEST_F(FutureTest, CallbackAddedWhenDoneRunsInlineAndReturnsZero) {
  ASSERT_TRUE(future_.Start(kStart));
  ASSERT_TRUE(future_.Finish(Num(1), kEnd));

  int calls = 0;
  EXPECT_EQ(future_.AddDoneCallback([&calls] { ++calls; }), 0u);
  EXPECT_EQ(calls, 1);
}

TEST_F(FutureTest, CallbackMayAddAnotherWhichRunsInline) {
  std::vector<int> order;
  future_.AddDoneCallback([this, &order] {
    order.push_back(1);
    future_.AddDoneCallback([&order] { order.push_back(2); });
    order.push_back(3);
  });
  ASSERT_TRUE(future_.Start(kStart));
  ASSERT_TRUE(future_.Finish(Num(1), kEnd));

  EXPECT_THAT(order, ElementsAre(1, 2, 3));
}

TEST_F(FutureTest, RemovedCallbackDoesNotRun) {
  int kept = 0;
  int removed = 0;
  future_.AddDoneCallback([&kept] { ++kept; });
  const Future::CallbackId id =
      future_.AddDoneCallback([&removed] { ++removed; });
  future_.RemoveDoneCallback(id);
  future_.RemoveDoneCallback(0);     // no-op
  future_.RemoveDoneCallback(9999);  // no-op
  ASSERT_TRUE(future_.Start(kStart));
  ASSERT_TRUE(future_.Finish(Num(1), kEnd));

  EXPECT_EQ(kept, 1);
  EXPECT_EQ(removed, 0);
  future_.RemoveDoneCallback(id);  // after the run: still a no-op
}

TEST_F(FutureTest, CallbackIdsAreDistinct) {
  const Future::CallbackId a = future_.AddDoneCallback([] {});
  const Future::CallbackId b = future_.AddDoneCallback([] {});
  EXPECT_NE(a, 0u);
  EXPECT_NE(b, 0u);
  EXPECT_NE(a, b);
}

TEST_F(FutureTest, FailAndStopFailsARunningFutureAndCancelsItsToken) {
  ASSERT_TRUE(future_.Start(kStart));
  bool token_cancelled_in_callback = false;
  future_.AddDoneCallback([this, &token_cancelled_in_callback] {
    token_cancelled_in_callback = future_.token().IsCancelled();
  });
  EXPECT_TRUE(future_.FailAndStop(
      TaskError{.type = "TimeoutError", .message = "late"}, kEnd));
  EXPECT_TRUE(token_cancelled_in_callback);
  EXPECT_EQ(future_.state(), FutureState::kFinished);
  EXPECT_TRUE(future_.Raised());
  // The task's own outcome, arriving later, is dropped.
  EXPECT_FALSE(future_.Finish(Cancelled{}, kEnd));
  EXPECT_EQ(future_.state(), FutureState::kFinished);
}

TEST_F(FutureTest, FailAndStopFailsAPendingFutureAndNothingOnceDone) {
  EXPECT_TRUE(future_.FailAndStop(TaskError{.type = "TimeoutError"}, kEnd));
  EXPECT_FALSE(future_.Start(kStart));
  EXPECT_FALSE(future_.FailAndStop(TaskError{.type = "Other"}, kEnd));
  const FutureSnapshot snapshot = future_.Snapshot();
  ASSERT_TRUE(snapshot.outcome.has_value());
  EXPECT_EQ(std::get<TaskError>(*snapshot.outcome).type, "TimeoutError");
}

// SetWithdraw(): a task handed, still pending, to a runner that may start it
// at any moment. `claimed` plays the runner: true once it has started the
// task, so that the withdrawal fails.
class WithdrawTest : public FutureTest {
 protected:
  void Hand(int pid = 42) {
    ASSERT_TRUE(future_.SetWithdraw(
        [this] {
          ++withdraw_calls_;
          return !claimed_;
        },
        pid));
  }
  bool claimed_ = false;
  int withdraw_calls_ = 0;
};

TEST_F(WithdrawTest, CancelBeforeTheRunnerStartsItWithdrawsIt) {
  Hand();
  EXPECT_EQ(future_.Cancel(kEnd), CancelAction::kCancelledPending);
  EXPECT_EQ(withdraw_calls_, 1);
  EXPECT_EQ(future_.state(), FutureState::kCancelled);
  EXPECT_FALSE(future_.Snapshot().start_time.has_value());
}

TEST_F(WithdrawTest, CancelAfterTheRunnerStartedItMakesItRunningAndStops) {
  Hand(/*pid=*/42);
  claimed_ = true;
  EXPECT_EQ(future_.Cancel(kEnd), CancelAction::kStopRequested);
  EXPECT_EQ(withdraw_calls_, 1);
  const FutureSnapshot snapshot = future_.Snapshot();
  EXPECT_EQ(snapshot.state, FutureState::kRunning);
  EXPECT_EQ(snapshot.worker_pid, 42);
  EXPECT_EQ(snapshot.start_time, kEnd);
  EXPECT_TRUE(future_.token().IsCancelled());
  // The runner's own start, heard later, changes nothing; its outcome ends it.
  EXPECT_FALSE(future_.Start(kStart, 42));
  EXPECT_TRUE(future_.Finish(Cancelled{}, kEnd));
  EXPECT_EQ(future_.state(), FutureState::kCancelled);
}

TEST_F(WithdrawTest, CancelIfPendingLeavesATaskTheRunnerStartedRunning) {
  Hand();
  claimed_ = true;
  EXPECT_EQ(future_.CancelIfPending(kEnd), CancelAction::kLeftRunning);
  EXPECT_EQ(future_.state(), FutureState::kRunning);
  EXPECT_FALSE(future_.token().IsCancelled());
}

TEST_F(WithdrawTest, CancelIfPendingWithdrawsATaskNotStarted) {
  Hand();
  EXPECT_EQ(future_.CancelIfPending(kEnd), CancelAction::kCancelledPending);
  EXPECT_EQ(future_.state(), FutureState::kCancelled);
}

TEST_F(WithdrawTest, FailAndStopWithdrawsAndCancelsTheToken) {
  Hand();
  EXPECT_TRUE(future_.FailAndStop(TaskError{.type = "TimeoutError"}, kEnd));
  EXPECT_EQ(withdraw_calls_, 1);
  EXPECT_EQ(future_.state(), FutureState::kFinished);
  EXPECT_TRUE(future_.token().IsCancelled());
}

TEST_F(WithdrawTest, StartDropsTheHook) {
  Hand();
  ASSERT_TRUE(future_.Start(kStart, 42));
  EXPECT_EQ(future_.Cancel(kEnd), CancelAction::kStopRequested);
  EXPECT_EQ(withdraw_calls_, 0);
}

TEST_F(WithdrawTest, IsRefusedUnlessPending) {
  ASSERT_TRUE(future_.Start(kStart));
  EXPECT_FALSE(future_.SetWithdraw([] { return true; }, 1));
  Future cancelled("id-2", "square", "process", kSubmit);
  cancelled.Cancel(kStart);
  EXPECT_FALSE(cancelled.SetWithdraw([] { return true; }, 1));
}

TEST_F(WithdrawTest, ALaterHookReplacesTheFirst) {
  Hand();
  bool second_called = false;
  ASSERT_TRUE(future_.SetWithdraw(
      [&second_called] {
        second_called = true;
        return true;
      },
      7));
  EXPECT_EQ(future_.Cancel(kEnd), CancelAction::kCancelledPending);
  EXPECT_TRUE(second_called);
  EXPECT_EQ(withdraw_calls_, 0);
}

// What an end hook was handed.
struct HeldEnd {
  int calls = 0;
  FutureState state = FutureState::kPending;
  std::optional<FutureEnding> ending;
};

TEST_F(FutureTest, AnEndHeldForTheHookIsShownOnlyOncePublished) {
  HeldEnd held;
  future_.SetEndHook([&held](FutureState state, FutureEnding ending) {
    ++held.calls;
    held.state = state;
    held.ending = std::move(ending);
  });
  EXPECT_TRUE(future_.HasEndHook());
  int done_calls = 0;
  future_.AddDoneCallback([&] { ++done_calls; });
  ASSERT_TRUE(future_.Start(kStart, 77));
  ASSERT_TRUE(future_.Finish(Num(9), kEnd));

  EXPECT_FALSE(future_.HasEndHook());  // handed over
  EXPECT_EQ(held.calls, 1);
  EXPECT_EQ(held.state, FutureState::kFinished);
  ASSERT_TRUE(held.ending.has_value());
  EXPECT_EQ(std::get<Value>(held.ending->outcome).number_value(), 9);
  EXPECT_EQ(held.ending->start_time, kStart);
  EXPECT_EQ(held.ending->end_time, kEnd);
  // Not shown yet, and closed to every other transition.
  EXPECT_EQ(future_.state(), FutureState::kRunning);
  EXPECT_FALSE(future_.done());
  EXPECT_FALSE(future_.Ending().has_value());
  EXPECT_FALSE(future_.Snapshot().outcome.has_value());
  EXPECT_EQ(done_calls, 0);
  EXPECT_FALSE(future_.Finish(Num(1), kEnd));
  EXPECT_EQ(future_.Cancel(kEnd), CancelAction::kAlreadyDone);
  EXPECT_FALSE(future_.SetProgress(Progress{}));
  int late_calls = 0;
  EXPECT_NE(future_.AddDoneCallback([&] { ++late_calls; }), 0u);

  future_.Publish();
  EXPECT_EQ(future_.state(), FutureState::kFinished);
  EXPECT_EQ(done_calls, 1);
  EXPECT_EQ(late_calls, 1);
  ASSERT_TRUE(future_.Ending().has_value());
  EXPECT_EQ(std::get<Value>(future_.Ending()->outcome).number_value(), 9);
  future_.Publish();  // a second does nothing
  EXPECT_EQ(done_calls, 1);
  EXPECT_EQ(held.calls, 1);
}

TEST_F(FutureTest, ACancelledPendingFutureIsHeldPendingUntilPublished) {
  HeldEnd held;
  future_.SetEndHook([&held](FutureState state, FutureEnding ending) {
    ++held.calls;
    held.state = state;
    held.ending = std::move(ending);
  });
  EXPECT_EQ(future_.Cancel(kEnd), CancelAction::kCancelledPending);
  EXPECT_EQ(held.state, FutureState::kCancelled);
  ASSERT_TRUE(held.ending.has_value());
  EXPECT_TRUE(IsCancelled(held.ending->outcome));
  EXPECT_FALSE(held.ending->start_time.has_value());
  EXPECT_EQ(future_.state(), FutureState::kPending);
  EXPECT_FALSE(future_.Start(kStart));  // never runs
  future_.Publish();
  EXPECT_EQ(future_.state(), FutureState::kCancelled);
}

TEST_F(FutureTest, WithoutAnEndHookPublishDoesNothing) {
  ASSERT_TRUE(future_.Finish(Num(1), kEnd));
  EXPECT_TRUE(future_.done());
  future_.Publish();
  EXPECT_EQ(future_.state(), FutureState::kFinished);
}

}  // namespace
}  // namespace futured::server
