// Every futured.v1.Executor RPC and status code of the daemon contract,
// against the real futured binary.
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_test.h"
#include "tests/integration/executor_calls.h"

namespace futured::testing {
namespace {

using ::futured::v1::AsCompletedRequest;
using ::futured::v1::CancelResponse;
using ::futured::v1::FunctionInfo;
using ::futured::v1::FutureInfo;
using ::futured::v1::GetStatsResponse;
using ::futured::v1::ListFunctionsResponse;
using ::futured::v1::MapItem;
using ::futured::v1::MapRequest;
using ::futured::v1::Outcome;
using ::futured::v1::ReleaseResponse;
using ::futured::v1::ResultRequest;
using ::futured::v1::ReturnWhen;
using ::futured::v1::SubmitRequest;
using ::futured::v1::WaitRequest;
using ::futured::v1::WaitResponse;

// A well-formed ID that no daemon handed out.
constexpr char kUnknownId[] = "00000000-0000-4000-8000-000000000000";
// Long enough that a test cancels it before it ends on its own.
constexpr double kLongSleepSeconds = 60;

SubmitRequest SleepCall(double seconds) {
  return CallOf("sleep", {NumberValue(seconds)});
}

SubmitRequest FailCall(absl::string_view type, absl::string_view message) {
  SubmitRequest request = CallOf("fail");
  auto& kwargs = *request.mutable_kwargs()->mutable_fields();
  kwargs["type"] = StringValue(type);
  kwargs["message"] = StringValue(message);
  return request;
}

std::set<std::string> AsSet(
    const google::protobuf::RepeatedPtrField<std::string>& ids) {
  return std::set<std::string>(ids.begin(), ids.end());
}

WaitRequest WaitFor(const std::vector<std::string>& ids, ReturnWhen when) {
  WaitRequest request;
  for (const std::string& id : ids) request.add_ids(id);
  request.set_return_when(when);
  return request;
}

AsCompletedRequest AsCompletedFor(const std::vector<std::string>& ids) {
  AsCompletedRequest request;
  for (const std::string& id : ids) request.add_ids(id);
  return request;
}

// Adds to DaemonTest the helpers these tests share.
class ExecutorTest : public DaemonTest {
 protected:
  // Stats of the pool "thread".
  static futured::v1::PoolStats ThreadPool(const GetStatsResponse& stats) {
    for (const futured::v1::PoolStats& pool : stats.pools()) {
      if (pool.name() == "thread") return pool;
    }
    ADD_FAILURE() << "no pool \"thread\" in " << stats.ShortDebugString();
    return {};
  }

  // Cancel with only_if_pending, as shutdown(cancel_futures=true) sends it.
  CancelResponse MustCancelIfPending(const std::string& id) {
    futured::v1::CancelRequest request;
    request.set_id(id);
    request.set_only_if_pending(true);
    CancelResponse response;
    grpc::Status status = calls_->Cancel(request, &response);
    EXPECT_TRUE(status.ok()) << id << ": " << StatusText(status);
    return response;
  }

  // Cancels a long sleep a test started and checks it ended CANCELLED.
  void CancelSleep(const std::string& id) {
    CancelResponse response = MustCancel(id);
    EXPECT_TRUE(response.cancelled()) << response.ShortDebugString();
    EXPECT_EQ(response.future().state(), futured::v1::FUTURE_STATE_CANCELLED)
        << response.ShortDebugString();
  }
};

// --- Submit -----------------------------------------------------------------

TEST_F(ExecutorTest, SubmitRunsTheFunctionAndResultReturnsItsValue) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false));
  const std::string id = MustSubmit(CallOf("square", {NumberValue(7)}));

  FutureInfo info = MustResult(id);
  EXPECT_EQ(info.id(), id);
  EXPECT_EQ(info.function(), "square");
  EXPECT_EQ(info.pool(), "thread");
  EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_FINISHED);
  EXPECT_TRUE(info.done());
  EXPECT_FALSE(info.running());
  EXPECT_FALSE(info.cancelled());
  ASSERT_EQ(info.outcome().kind_case(), Outcome::kValue)
      << info.ShortDebugString();
  EXPECT_EQ(info.outcome().value().number_value(), 49);
  EXPECT_FALSE(info.has_deadline()) << "no Submit timeout was given";
  ASSERT_TRUE(info.has_submit_time() && info.has_start_time() &&
              info.has_end_time())
      << info.ShortDebugString();
  EXPECT_LE(TimeFromProto(info.submit_time()),
            TimeFromProto(info.start_time()));
  EXPECT_LE(TimeFromProto(info.start_time()), TimeFromProto(info.end_time()));
}

TEST_F(ExecutorTest, SubmitAcceptsKeywordArgumentsAndTheThreadPoolByName) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  SubmitRequest request = CallOf("echo");
  (*request.mutable_kwargs()->mutable_fields())["value"] = StringValue("hello");
  request.set_pool("thread");
  FutureInfo info = MustResult(MustSubmit(request));
  ASSERT_EQ(info.outcome().kind_case(), Outcome::kValue)
      << info.ShortDebugString();
  EXPECT_EQ(info.outcome().value().string_value(), "hello");
  EXPECT_EQ(info.pool(), "thread");
}

TEST_F(ExecutorTest, SubmitUnknownFunctionIsNotFound) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false));
  std::string id;
  grpc::Status status = calls_->Submit(CallOf("no_such_function"), &id);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
      << StatusText(status);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "no_such_function"))
      << StatusText(status);
}

TEST_F(ExecutorTest, SubmitBadArgumentsIsInvalidArgumentNamingTheParameter) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  struct Case {
    std::string what;
    SubmitRequest request;
    std::string names;  // the message must contain this
  };
  std::vector<Case> cases = {
      {"wrong type", CallOf("sleep", {StringValue("x")}), "seconds"},
      {"missing argument", CallOf("sleep"), "seconds"},
      {"too many arguments", CallOf("square", {NumberValue(1), NumberValue(2)}),
       ""},
      {"out of range", CallOf("factorial", {NumberValue(200001)}), "n"},
  };
  SubmitRequest unknown_keyword = CallOf("square", {NumberValue(1)});
  (*unknown_keyword.mutable_kwargs()->mutable_fields())["bogus"] =
      NumberValue(1);
  cases.push_back({"unknown keyword", unknown_keyword, "bogus"});

  for (const Case& c : cases) {
    std::string id;
    grpc::Status status = calls_->Submit(c.request, &id);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.what << ": " << StatusText(status);
    EXPECT_TRUE(absl::StrContains(status.error_message(), c.names))
        << c.what << ": " << StatusText(status);
  }
}

TEST_F(ExecutorTest, SubmitUnknownPoolIsNotFound) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false));
  SubmitRequest request = CallOf("square", {NumberValue(2)});
  request.set_pool("no_such_pool");
  std::string id;
  grpc::Status status = calls_->Submit(request, &id);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
      << StatusText(status);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "no_such_pool"))
      << StatusText(status);
}

TEST_F(ExecutorTest, SubmitToAFullQueueIsResourceExhausted) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(
      /*unix_socket=*/true, {"--threads=1", "--queue_capacity=2"}));
  // One running (so it has left the queue), then two queued fill the queue.
  const std::string running = MustSubmit(SleepCall(kLongSleepSeconds));
  MustAwaitState(running, futured::v1::FUTURE_STATE_RUNNING);
  const std::string queued1 = MustSubmit(SleepCall(kLongSleepSeconds));
  const std::string queued2 = MustSubmit(SleepCall(kLongSleepSeconds));

  std::string id;
  grpc::Status status = calls_->Submit(SleepCall(kLongSleepSeconds), &id);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << StatusText(status);

  GetStatsResponse stats;
  ASSERT_TRUE(calls_->GetStats(&stats).ok());
  futured::v1::PoolStats pool = ThreadPool(stats);
  EXPECT_EQ(pool.workers(), 1);
  EXPECT_EQ(pool.queue_capacity(), 2);
  EXPECT_EQ(pool.queued(), 2);
  EXPECT_EQ(pool.running(), 1);

  EXPECT_EQ(MustCancel(queued1).action(),
            futured::v1::CANCEL_ACTION_CANCELLED_PENDING);
  EXPECT_EQ(MustCancel(queued2).action(),
            futured::v1::CANCEL_ACTION_CANCELLED_PENDING);
  CancelSleep(running);

  // Once the worker has drained the queue, there is room again.
  MustAwaitStats([](const GetStatsResponse& s) {
    return ThreadPool(s).queued() == 0 && ThreadPool(s).running() == 0;
  });
  FutureInfo info = MustResult(MustSubmit(CallOf("square", {NumberValue(5)})));
  EXPECT_EQ(info.outcome().value().number_value(), 25)
      << info.ShortDebugString();
}

TEST_F(ExecutorTest, SubmitTimeoutFailsARunningTaskWithTimeoutError) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false));
  SubmitRequest request = SleepCall(kLongSleepSeconds);
  *request.mutable_timeout() = DurationProto(absl::Milliseconds(300));
  const std::string id = MustSubmit(request);

  FutureInfo info = MustResult(id);
  EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_FINISHED)
      << info.ShortDebugString();
  ASSERT_EQ(info.outcome().kind_case(), Outcome::kError)
      << info.ShortDebugString();
  EXPECT_EQ(info.outcome().error().type(), "TimeoutError");
  EXPECT_TRUE(info.has_deadline()) << info.ShortDebugString();
  // The running task's token was cancelled too, so the sleep stops.
  MustAwaitStats(
      [](const GetStatsResponse& s) { return ThreadPool(s).running() == 0; });
}

TEST_F(ExecutorTest, SubmitTimeoutFailsAQueuedTaskWithTimeoutError) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true, {"--threads=1"}));
  const std::string blocker = MustSubmit(SleepCall(kLongSleepSeconds));
  MustAwaitState(blocker, futured::v1::FUTURE_STATE_RUNNING);
  SubmitRequest request = CallOf("square", {NumberValue(3)});
  *request.mutable_timeout() = DurationProto(absl::Milliseconds(300));
  const std::string queued = MustSubmit(request);

  FutureInfo info = MustResult(queued);
  EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_FINISHED)
      << info.ShortDebugString();
  ASSERT_EQ(info.outcome().kind_case(), Outcome::kError)
      << info.ShortDebugString();
  EXPECT_EQ(info.outcome().error().type(), "TimeoutError");
  // The blocker is still running: the queued task timed out in the queue.
  EXPECT_EQ(MustGetFuture(blocker).state(), futured::v1::FUTURE_STATE_RUNNING);
  CancelSleep(blocker);
}

// --- GetFuture --------------------------------------------------------------

TEST_F(ExecutorTest, GetFutureShowsPendingRunningAndFinished) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false, {"--threads=1"}));
  const std::string blocker = MustSubmit(SleepCall(kLongSleepSeconds));
  FutureInfo running =
      MustAwaitState(blocker, futured::v1::FUTURE_STATE_RUNNING);
  EXPECT_TRUE(running.running());
  EXPECT_FALSE(running.done());
  EXPECT_FALSE(running.cancelled());
  EXPECT_EQ(running.outcome().kind_case(), Outcome::KIND_NOT_SET);
  EXPECT_TRUE(running.has_start_time());
  EXPECT_FALSE(running.has_end_time());

  const std::string queued = MustSubmit(CallOf("square", {NumberValue(4)}));
  FutureInfo pending = MustGetFuture(queued);
  EXPECT_EQ(pending.id(), queued);
  EXPECT_EQ(pending.function(), "square");
  EXPECT_EQ(pending.state(), futured::v1::FUTURE_STATE_PENDING);
  EXPECT_FALSE(pending.running());
  EXPECT_FALSE(pending.done());
  EXPECT_FALSE(pending.cancelled());
  EXPECT_EQ(pending.outcome().kind_case(), Outcome::KIND_NOT_SET);
  EXPECT_TRUE(pending.has_submit_time());
  EXPECT_FALSE(pending.has_start_time());
  EXPECT_FALSE(pending.has_end_time());

  CancelSleep(blocker);
  FutureInfo finished = MustResult(queued);
  EXPECT_EQ(finished.state(), futured::v1::FUTURE_STATE_FINISHED);
  FutureInfo snapshot = MustGetFuture(queued);
  EXPECT_EQ(snapshot.state(), futured::v1::FUTURE_STATE_FINISHED);
  EXPECT_TRUE(snapshot.done());
  EXPECT_FALSE(snapshot.running());
  EXPECT_EQ(snapshot.outcome().value().number_value(), 16)
      << snapshot.ShortDebugString();
  EXPECT_TRUE(snapshot.has_start_time() && snapshot.has_end_time());
}

TEST_F(ExecutorTest, GetFutureEmptyIdIsInvalidAndUnknownIdIsNotFound) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  FutureInfo info;
  grpc::Status status = calls_->GetFuture("", &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << StatusText(status);
  status = calls_->GetFuture(kUnknownId, &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
      << StatusText(status);
}

// Every call taking future IDs: "" is INVALID_ARGUMENT, an unknown one
// NOT_FOUND (executor.proto's status table).
TEST_F(ExecutorTest, EveryIdTakingCallRejectsEmptyAndUnknownIds) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false));
  for (const auto& [id, code] :
       std::vector<std::pair<std::string, grpc::StatusCode>>{
           {"", grpc::StatusCode::INVALID_ARGUMENT},
           {kUnknownId, grpc::StatusCode::NOT_FOUND}}) {
    SCOPED_TRACE(absl::StrCat("id \"", id, "\""));
    ResultRequest result_request;
    result_request.set_id(id);
    FutureInfo info;
    grpc::Status status = calls_->Result(result_request, &info);
    EXPECT_EQ(status.error_code(), code) << "Result " << StatusText(status);

    CancelResponse cancel;
    status = calls_->Cancel(id, &cancel);
    EXPECT_EQ(status.error_code(), code) << "Cancel " << StatusText(status);

    std::vector<FutureInfo> completed;
    status = calls_->AsCompleted(AsCompletedFor({id}), &completed);
    EXPECT_EQ(status.error_code(), code)
        << "AsCompleted " << StatusText(status);
    EXPECT_TRUE(completed.empty());

    WaitResponse wait;
    status = calls_->Wait(WaitFor({id}, futured::v1::RETURN_WHEN_ALL_COMPLETED),
                          &wait);
    EXPECT_EQ(status.error_code(), code) << "Wait " << StatusText(status);

    ReleaseResponse release;
    status = calls_->Release({id}, &release);
    EXPECT_EQ(status.error_code(), code) << "Release " << StatusText(status);
  }
}

// A negative or malformed timeout, and a return_when that is no ReturnWhen
// value, are INVALID_ARGUMENT naming the field, on every call that takes one.
TEST_F(ExecutorTest, BadTimeoutsAndReturnWhenAreInvalidArgument) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  const std::string id = MustSubmit(CallOf("echo", {NumberValue(1)}));
  google::protobuf::Duration negative;
  negative.set_seconds(-1);
  google::protobuf::Duration mixed_signs;
  mixed_signs.set_seconds(1);
  mixed_signs.set_nanos(-5);
  for (const google::protobuf::Duration& timeout : {negative, mixed_signs}) {
    SCOPED_TRACE(timeout.ShortDebugString());
    auto expect_invalid = [](const grpc::Status& status, const char* call) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
          << call << " " << StatusText(status);
      EXPECT_TRUE(absl::StrContains(status.error_message(), "timeout"))
          << call << " " << StatusText(status);
    };
    SubmitRequest submit = CallOf("echo", {NumberValue(1)});
    *submit.mutable_timeout() = timeout;
    std::string ignored;
    expect_invalid(calls_->Submit(submit, &ignored), "Submit");

    ResultRequest result;
    result.set_id(id);
    *result.mutable_timeout() = timeout;
    FutureInfo info;
    expect_invalid(calls_->Result(result, &info), "Result");

    AsCompletedRequest as_completed = AsCompletedFor({id});
    *as_completed.mutable_timeout() = timeout;
    std::vector<FutureInfo> completed;
    expect_invalid(calls_->AsCompleted(as_completed, &completed),
                   "AsCompleted");

    WaitRequest wait = WaitFor({id}, futured::v1::RETURN_WHEN_ALL_COMPLETED);
    *wait.mutable_timeout() = timeout;
    WaitResponse wait_response;
    expect_invalid(calls_->Wait(wait, &wait_response), "Wait");

    MapRequest map;
    map.set_function("square");
    *map.add_inputs() = NumberValue(2);
    *map.mutable_timeout() = timeout;
    std::vector<MapItem> items;
    expect_invalid(calls_->Map(map, &items), "Map");
  }
  WaitRequest wait = WaitFor({id}, static_cast<ReturnWhen>(42));
  WaitResponse wait_response;
  grpc::Status status = calls_->Wait(wait, &wait_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << StatusText(status);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "return_when"))
      << StatusText(status);
}

// --- Result -----------------------------------------------------------------

TEST_F(ExecutorTest, ResultOfAFailingTaskIsAnOkCallCarryingTheError) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  FutureInfo info = MustResult(MustSubmit(FailCall("ValueError", "boom")));
  EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_FINISHED);
  EXPECT_TRUE(info.done());
  EXPECT_FALSE(info.cancelled());
  ASSERT_EQ(info.outcome().kind_case(), Outcome::kError)
      << info.ShortDebugString();
  EXPECT_EQ(info.outcome().error().type(), "ValueError");
  EXPECT_EQ(info.outcome().error().message(), "boom");

  // The defaults: fail() raises RuntimeError("task failed").
  FutureInfo defaults = MustResult(MustSubmit(CallOf("fail")));
  ASSERT_EQ(defaults.outcome().kind_case(), Outcome::kError)
      << defaults.ShortDebugString();
  EXPECT_EQ(defaults.outcome().error().type(), "RuntimeError");
  EXPECT_EQ(defaults.outcome().error().message(), "task failed");
}

TEST_F(ExecutorTest, ResultTimeoutIsDeadlineExceededAndTheFutureGoesOn) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false));
  const std::string id = MustSubmit(SleepCall(2));

  ResultRequest request;
  request.set_id(id);
  *request.mutable_timeout() = DurationProto(absl::Milliseconds(100));
  FutureInfo info;
  grpc::Status status = calls_->Result(request, &info);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << StatusText(status) << " " << info.ShortDebugString();

  // The timed-out call is not left waiting on the server.
  MustAwaitStats(
      [](const GetStatsResponse& s) { return s.waiting_calls() == 0; });

  // The future was not cancelled by the timeout: a second Result gets it.
  FutureInfo done = MustResult(id);
  EXPECT_EQ(done.state(), futured::v1::FUTURE_STATE_FINISHED)
      << done.ShortDebugString();
  ASSERT_EQ(done.outcome().kind_case(), Outcome::kValue)
      << done.ShortDebugString();
  EXPECT_EQ(done.outcome().value().number_value(), 2);
}

TEST_F(ExecutorTest, ResultHonoursTheClientDeadline) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  const std::string id = MustSubmit(SleepCall(kLongSleepSeconds));

  ResultRequest request;
  request.set_id(id);
  FutureInfo info;
  grpc::Status status =
      calls_->Result(request, &info, /*deadline=*/absl::Milliseconds(500));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << StatusText(status);

  // The server let go of the call, and the future is still running.
  MustAwaitStats(
      [](const GetStatsResponse& s) { return s.waiting_calls() == 0; });
  EXPECT_EQ(MustGetFuture(id).state(), futured::v1::FUTURE_STATE_RUNNING);
  CancelSleep(id);
}

// --- Cancel -----------------------------------------------------------------

TEST_F(ExecutorTest, CancelPendingFutureCancelsItAndItNeverStarts) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false, {"--threads=1"}));
  const std::string blocker = MustSubmit(SleepCall(kLongSleepSeconds));
  MustAwaitState(blocker, futured::v1::FUTURE_STATE_RUNNING);
  const std::string pending = MustSubmit(CallOf("square", {NumberValue(6)}));

  CancelResponse response = MustCancel(pending);
  EXPECT_TRUE(response.cancelled()) << response.ShortDebugString();
  EXPECT_EQ(response.action(), futured::v1::CANCEL_ACTION_CANCELLED_PENDING);
  EXPECT_EQ(response.future().state(), futured::v1::FUTURE_STATE_CANCELLED);
  EXPECT_TRUE(response.future().cancelled());
  EXPECT_TRUE(response.future().done());
  EXPECT_FALSE(response.future().has_start_time());

  FutureInfo result = MustResult(pending);
  EXPECT_EQ(result.state(), futured::v1::FUTURE_STATE_CANCELLED);
  ASSERT_EQ(result.outcome().kind_case(), Outcome::kCancelled)
      << result.ShortDebugString();
  EXPECT_TRUE(result.outcome().cancelled());

  // Free the worker, and let it pass the cancelled entry: a task queued
  // after it has run (the queue is first in, first out).
  CancelSleep(blocker);
  FutureInfo marker =
      MustResult(MustSubmit(CallOf("square", {NumberValue(2)})));
  EXPECT_EQ(marker.outcome().value().number_value(), 4);

  FutureInfo after = MustGetFuture(pending);
  EXPECT_EQ(after.state(), futured::v1::FUTURE_STATE_CANCELLED)
      << after.ShortDebugString();
  EXPECT_FALSE(after.has_start_time()) << after.ShortDebugString();
  EXPECT_EQ(after.outcome().kind_case(), Outcome::kCancelled);
}

TEST_F(ExecutorTest, CancelRunningSleepRequestsStopAndEndsCancelled) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  const std::string id = MustSubmit(SleepCall(kLongSleepSeconds));
  MustAwaitState(id, futured::v1::FUTURE_STATE_RUNNING);

  CancelResponse response = MustCancel(id);
  EXPECT_EQ(response.action(), futured::v1::CANCEL_ACTION_STOP_REQUESTED)
      << response.ShortDebugString();
  EXPECT_TRUE(response.cancelled()) << response.ShortDebugString();
  EXPECT_EQ(response.future().state(), futured::v1::FUTURE_STATE_CANCELLED);
  EXPECT_TRUE(response.future().cancelled());
  EXPECT_TRUE(response.future().done());
  EXPECT_TRUE(response.future().has_start_time());
  EXPECT_TRUE(response.future().has_end_time());

  FutureInfo result = MustResult(id);
  EXPECT_EQ(result.state(), futured::v1::FUTURE_STATE_CANCELLED);
  EXPECT_EQ(result.outcome().kind_case(), Outcome::kCancelled)
      << result.ShortDebugString();
}

TEST_F(ExecutorTest, CancelDoneFutureIsAlreadyDone) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false));
  const std::string finished = MustSubmit(CallOf("square", {NumberValue(3)}));
  MustResult(finished);
  CancelResponse response = MustCancel(finished);
  EXPECT_EQ(response.action(), futured::v1::CANCEL_ACTION_ALREADY_DONE);
  EXPECT_FALSE(response.cancelled());
  EXPECT_EQ(response.future().state(), futured::v1::FUTURE_STATE_FINISHED);
  EXPECT_EQ(response.future().outcome().value().number_value(), 9);

  // A second Cancel of a cancelled future: already done, and cancelled.
  const std::string sleeper = MustSubmit(SleepCall(kLongSleepSeconds));
  MustAwaitState(sleeper, futured::v1::FUTURE_STATE_RUNNING);
  CancelSleep(sleeper);
  CancelResponse again = MustCancel(sleeper);
  EXPECT_EQ(again.action(), futured::v1::CANCEL_ACTION_ALREADY_DONE)
      << again.ShortDebugString();
  EXPECT_TRUE(again.cancelled());
  EXPECT_EQ(again.future().state(), futured::v1::FUTURE_STATE_CANCELLED);
}

TEST_F(ExecutorTest, CancelOnlyIfPendingLeavesARunningFutureAndCancelsAQueued) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true, {"--threads=1"}));
  const std::string running = MustSubmit(SleepCall(kLongSleepSeconds));
  MustAwaitState(running, futured::v1::FUTURE_STATE_RUNNING);
  const std::string queued = MustSubmit(SleepCall(kLongSleepSeconds));

  CancelResponse left = MustCancelIfPending(running);
  EXPECT_EQ(left.action(), futured::v1::CANCEL_ACTION_LEFT_RUNNING)
      << left.ShortDebugString();
  EXPECT_FALSE(left.cancelled()) << left.ShortDebugString();
  EXPECT_EQ(left.future().state(), futured::v1::FUTURE_STATE_RUNNING);
  EXPECT_FALSE(left.future().done());
  EXPECT_FALSE(left.future().has_end_time());

  CancelResponse cancelled = MustCancelIfPending(queued);
  EXPECT_EQ(cancelled.action(), futured::v1::CANCEL_ACTION_CANCELLED_PENDING)
      << cancelled.ShortDebugString();
  EXPECT_TRUE(cancelled.cancelled());
  EXPECT_EQ(cancelled.future().state(), futured::v1::FUTURE_STATE_CANCELLED);
  EXPECT_FALSE(cancelled.future().has_start_time());

  // The running sleep was not told to stop: it is still running, and a
  // second only_if_pending changes nothing.
  EXPECT_EQ(MustGetFuture(running).state(), futured::v1::FUTURE_STATE_RUNNING);
  EXPECT_EQ(MustCancelIfPending(running).action(),
            futured::v1::CANCEL_ACTION_LEFT_RUNNING);
  EXPECT_EQ(MustCancelIfPending(queued).action(),
            futured::v1::CANCEL_ACTION_ALREADY_DONE);
  CancelSleep(running);
}

// --- AsCompleted ------------------------------------------------------------

TEST_F(ExecutorTest, AsCompletedStreamsInCompletionOrder) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false, {"--threads=4"}));
  const std::string slow = MustSubmit(SleepCall(0.9));
  const std::string fast = MustSubmit(SleepCall(0.1));
  const std::string medium = MustSubmit(SleepCall(0.5));

  std::vector<FutureInfo> completed;
  grpc::Status status =
      calls_->AsCompleted(AsCompletedFor({slow, fast, medium}), &completed);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(completed.size(), 3u);
  std::vector<std::string> order;
  for (const FutureInfo& info : completed) {
    order.push_back(info.id());
    EXPECT_TRUE(info.done()) << info.ShortDebugString();
    EXPECT_EQ(info.state(), futured::v1::FUTURE_STATE_FINISHED);
    EXPECT_EQ(info.outcome().kind_case(), Outcome::kValue);
    EXPECT_TRUE(info.has_end_time());
  }
  EXPECT_EQ(order, (std::vector<std::string>{fast, medium, slow}));
  // The server's own clock agrees with the stream order.
  for (size_t i = 1; i < completed.size(); ++i) {
    EXPECT_LE(TimeFromProto(completed[i - 1].end_time()),
              TimeFromProto(completed[i].end_time()))
        << "position " << i << ": " << completed[i - 1].ShortDebugString()
        << " then " << completed[i].ShortDebugString();
  }
}

TEST_F(ExecutorTest, AsCompletedYieldsDoneFuturesFirstAndDuplicatesOnce) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  const std::string done = MustSubmit(CallOf("square", {NumberValue(3)}));
  MustResult(done);
  const std::string later = MustSubmit(SleepCall(0.3));

  std::vector<FutureInfo> completed;
  grpc::Status status = calls_->AsCompleted(
      AsCompletedFor({later, done, later, done, later}), &completed);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(completed.size(), 2u);
  EXPECT_EQ(completed[0].id(), done);
  EXPECT_EQ(completed[1].id(), later);
  EXPECT_EQ(completed[1].outcome().value().number_value(), 0.3);
}

TEST_F(ExecutorTest, AsCompletedWithNoIdsEndsAtOnce) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false));
  std::vector<FutureInfo> completed;
  grpc::Status status = calls_->AsCompleted(AsCompletedRequest(), &completed);
  EXPECT_TRUE(status.ok()) << StatusText(status);
  EXPECT_TRUE(completed.empty());
}

TEST_F(ExecutorTest, AsCompletedTimeoutStreamsWhatIsDoneThenDeadlineExceeded) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  const std::string done = MustSubmit(CallOf("square", {NumberValue(3)}));
  MustResult(done);
  const std::string sleeper = MustSubmit(SleepCall(kLongSleepSeconds));

  AsCompletedRequest request = AsCompletedFor({sleeper, done});
  *request.mutable_timeout() = DurationProto(absl::Milliseconds(300));
  std::vector<FutureInfo> completed;
  grpc::Status status = calls_->AsCompleted(request, &completed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << StatusText(status);
  ASSERT_EQ(completed.size(), 1u);
  EXPECT_EQ(completed[0].id(), done);

  MustAwaitStats(
      [](const GetStatsResponse& s) { return s.waiting_calls() == 0; });
  CancelSleep(sleeper);
}

// Every future done before the timeout: the stream ends OK even when the
// timer fires while they are still being sent (many messages of 256, a zero
// timeout, many rounds: before the fix most rounds ended DEADLINE_EXCEEDED).
TEST_F(ExecutorTest, AsCompletedTimeoutAfterEveryFutureIsDoneIsNoError) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    ids.push_back(MustSubmit(CallOf("echo", {NumberValue(i)})));
  }
  WaitResponse all;
  ASSERT_TRUE(
      calls_->Wait(WaitFor(ids, futured::v1::RETURN_WHEN_ALL_COMPLETED), &all)
          .ok());
  ASSERT_EQ(all.done_size(), 1000);

  AsCompletedRequest request = AsCompletedFor(ids);
  *request.mutable_timeout() = DurationProto(absl::ZeroDuration());
  for (int round = 0; round < 20; ++round) {
    std::vector<FutureInfo> completed;
    grpc::Status status = calls_->AsCompleted(request, &completed);
    EXPECT_TRUE(status.ok()) << "round " << round << ": " << StatusText(status);
    EXPECT_EQ(completed.size(), ids.size()) << "round " << round;
  }
}

TEST_F(ExecutorTest, TooManyIdsIsResourceExhausted) {
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon(/*unix_socket=*/false, {"--max_ids_per_call=3"}));
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    ids.push_back(MustSubmit(CallOf("square", {NumberValue(i)})));
    MustResult(ids.back());
  }
  const std::vector<std::string> three(ids.begin(), ids.begin() + 3);

  std::vector<FutureInfo> completed;
  grpc::Status status = calls_->AsCompleted(AsCompletedFor(ids), &completed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << "AsCompleted " << StatusText(status);
  EXPECT_TRUE(completed.empty());

  WaitResponse wait;
  status =
      calls_->Wait(WaitFor(ids, futured::v1::RETURN_WHEN_ALL_COMPLETED), &wait);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << "Wait " << StatusText(status);

  ReleaseResponse release;
  status = calls_->Release(ids, &release);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << "Release " << StatusText(status);
  FutureInfo info;
  EXPECT_TRUE(calls_->GetFuture(ids[0], &info).ok())
      << "a rejected Release released nothing";

  // At the limit, all three calls work.
  completed.clear();
  status = calls_->AsCompleted(AsCompletedFor(three), &completed);
  EXPECT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(completed.size(), 3u);
  status = calls_->Wait(WaitFor(three, futured::v1::RETURN_WHEN_ALL_COMPLETED),
                        &wait);
  EXPECT_TRUE(status.ok()) << StatusText(status);
  status = calls_->Release(three, &release);
  EXPECT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(release.released(), 3);
}

// --- Wait -------------------------------------------------------------------

TEST_F(ExecutorTest, WaitFirstCompletedReturnsWhenAnyIsDone) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false));
  const std::string sleeper = MustSubmit(SleepCall(kLongSleepSeconds));
  const std::string quick = MustSubmit(CallOf("square", {NumberValue(2)}));

  WaitResponse response;
  grpc::Status status = calls_->Wait(
      WaitFor({sleeper, quick}, futured::v1::RETURN_WHEN_FIRST_COMPLETED),
      &response);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_FALSE(response.timed_out());
  EXPECT_EQ(AsSet(response.done()), std::set<std::string>{quick});
  EXPECT_EQ(AsSet(response.not_done()), std::set<std::string>{sleeper});
  CancelSleep(sleeper);
}

TEST_F(ExecutorTest, WaitFirstExceptionReturnsOnAFailure) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  const std::string sleeper = MustSubmit(SleepCall(kLongSleepSeconds));
  const std::string failing = MustSubmit(FailCall("ValueError", "bad"));

  WaitResponse response;
  grpc::Status status = calls_->Wait(
      WaitFor({sleeper, failing}, futured::v1::RETURN_WHEN_FIRST_EXCEPTION),
      &response);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_FALSE(response.timed_out());
  EXPECT_EQ(AsSet(response.done()), std::set<std::string>{failing});
  EXPECT_EQ(AsSet(response.not_done()), std::set<std::string>{sleeper});
  CancelSleep(sleeper);
}

TEST_F(ExecutorTest, WaitFirstExceptionWithoutFailuresWaitsForAll) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false));
  // A cancelled future is not an exception.
  const std::string cancelled = MustSubmit(SleepCall(kLongSleepSeconds));
  MustAwaitState(cancelled, futured::v1::FUTURE_STATE_RUNNING);
  CancelSleep(cancelled);
  const std::string sleeper = MustSubmit(SleepCall(0.5));
  const std::string quick = MustSubmit(CallOf("square", {NumberValue(2)}));

  WaitResponse response;
  grpc::Status status =
      calls_->Wait(WaitFor({cancelled, sleeper, quick},
                           futured::v1::RETURN_WHEN_FIRST_EXCEPTION),
                   &response);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_FALSE(response.timed_out());
  EXPECT_EQ(AsSet(response.done()),
            (std::set<std::string>{cancelled, sleeper, quick}));
  EXPECT_TRUE(response.not_done().empty());
  EXPECT_EQ(MustGetFuture(sleeper).state(), futured::v1::FUTURE_STATE_FINISHED);
}

TEST_F(ExecutorTest, WaitAllCompletedReturnsWhenAllAreDone) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  for (ReturnWhen when : {futured::v1::RETURN_WHEN_ALL_COMPLETED,
                          futured::v1::RETURN_WHEN_UNSPECIFIED}) {
    SCOPED_TRACE(futured::v1::ReturnWhen_Name(when));
    const std::string a = MustSubmit(SleepCall(0.2));
    const std::string b = MustSubmit(SleepCall(0.4));
    const std::string c = MustSubmit(FailCall("KeyError", "k"));

    WaitResponse response;
    // Duplicates count once.
    grpc::Status status = calls_->Wait(WaitFor({a, b, c, a}, when), &response);
    ASSERT_TRUE(status.ok()) << StatusText(status);
    EXPECT_FALSE(response.timed_out());
    EXPECT_EQ(response.done_size(), 3) << response.ShortDebugString();
    EXPECT_EQ(AsSet(response.done()), (std::set<std::string>{a, b, c}));
    EXPECT_TRUE(response.not_done().empty());
    for (const std::string& id : {a, b, c}) {
      EXPECT_TRUE(MustGetFuture(id).done()) << id;
    }
  }
}

TEST_F(ExecutorTest, WaitTimeoutReturnsTheSetsAsTheyAre) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false));
  const std::string done = MustSubmit(CallOf("square", {NumberValue(3)}));
  MustResult(done);
  const std::string sleeper = MustSubmit(SleepCall(kLongSleepSeconds));

  WaitRequest request =
      WaitFor({done, sleeper}, futured::v1::RETURN_WHEN_ALL_COMPLETED);
  *request.mutable_timeout() = DurationProto(absl::Milliseconds(300));
  WaitResponse response;
  grpc::Status status = calls_->Wait(request, &response);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_TRUE(response.timed_out());
  EXPECT_EQ(AsSet(response.done()), std::set<std::string>{done});
  EXPECT_EQ(AsSet(response.not_done()), std::set<std::string>{sleeper});
  CancelSleep(sleeper);
}

// --- Map --------------------------------------------------------------------

TEST_F(ExecutorTest, MapStreamsResultsInInputOrder) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  MapRequest request;
  request.set_function("square");
  for (int i = 1; i <= 50; ++i) *request.add_inputs() = NumberValue(i);

  std::vector<MapItem> items;
  grpc::Status status = calls_->Map(request, &items);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(items.size(), 50u);
  for (int i = 0; i < 50; ++i) {
    const MapItem& item = items[i];
    EXPECT_EQ(item.index(), i);
    ASSERT_EQ(item.outcome().kind_case(), Outcome::kValue)
        << item.ShortDebugString();
    EXPECT_EQ(item.outcome().value().number_value(), (i + 1) * (i + 1));
    EXPECT_TRUE(item.has_start_time() && item.has_end_time())
        << item.ShortDebugString();
    EXPECT_LE(TimeFromProto(item.start_time()), TimeFromProto(item.end_time()));
  }
}

TEST_F(ExecutorTest, MapStreamsErrorsAsOutcomesAndGoesOn) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false));
  MapRequest request;
  request.set_function("fail");
  for (const char* type : {"ValueError", "KeyError", "TypeError"}) {
    *request.add_inputs() = StringValue(type);
  }
  std::vector<MapItem> items;
  grpc::Status status = calls_->Map(request, &items);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(items.size(), 3u);
  const std::vector<std::string> types = {"ValueError", "KeyError",
                                          "TypeError"};
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(items[i].index(), i);
    ASSERT_EQ(items[i].outcome().kind_case(), Outcome::kError)
        << items[i].ShortDebugString();
    EXPECT_EQ(items[i].outcome().error().type(), types[i]);
    EXPECT_EQ(items[i].outcome().error().message(), "task failed");
  }
}

TEST_F(ExecutorTest, MapSpreadsListInputsOnlyWhenAsked) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  MapRequest spread;
  spread.set_function("fail");
  spread.set_spread_inputs(true);
  *spread.add_inputs() =
      ListValue({StringValue("ValueError"), StringValue("bad value")});
  *spread.add_inputs() =
      ListValue({StringValue("KeyError"), StringValue("no key")});
  std::vector<MapItem> items;
  grpc::Status status = calls_->Map(spread, &items);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].outcome().error().type(), "ValueError");
  EXPECT_EQ(items[0].outcome().error().message(), "bad value");
  EXPECT_EQ(items[1].outcome().error().type(), "KeyError");
  EXPECT_EQ(items[1].outcome().error().message(), "no key");

  // Without spread_inputs a list is the one argument.
  MapRequest whole;
  whole.set_function("echo");
  *whole.add_inputs() = ListValue({NumberValue(1), NumberValue(2)});
  items.clear();
  status = calls_->Map(whole, &items);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(items.size(), 1u);
  ASSERT_EQ(items[0].outcome().kind_case(), Outcome::kValue)
      << items[0].ShortDebugString();
  ASSERT_TRUE(items[0].outcome().value().has_list_value())
      << items[0].ShortDebugString();
  EXPECT_EQ(items[0].outcome().value().list_value().values_size(), 2);

  // So square of a list is a wrong argument type.
  MapRequest unspread;
  unspread.set_function("square");
  *unspread.add_inputs() = ListValue({NumberValue(3)});
  items.clear();
  status = calls_->Map(unspread, &items);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].outcome().error().type(), "TypeError")
      << items[0].ShortDebugString();
}

// As Python's map raises at the input: an input whose arguments do not fit
// the function is that item's TypeError, and the others run.
TEST_F(ExecutorTest, MapBadInputIsATypeErrorAtItsPosition) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false));
  MapRequest request;
  request.set_function("square");
  *request.add_inputs() = NumberValue(1);
  *request.add_inputs() = StringValue("x");
  *request.add_inputs() = NumberValue(3);
  std::vector<MapItem> items;
  grpc::Status status = calls_->Map(request, &items);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(items.size(), 3u);
  EXPECT_EQ(items[0].outcome().value().number_value(), 1);
  ASSERT_EQ(items[1].outcome().kind_case(), Outcome::kError)
      << items[1].ShortDebugString();
  EXPECT_EQ(items[1].outcome().error().type(), "TypeError");
  EXPECT_FALSE(items[1].outcome().error().message().empty());
  EXPECT_EQ(items[1].index(), 1);
  EXPECT_EQ(items[2].outcome().value().number_value(), 9);

  // An unknown function is the call's error.
  MapRequest unknown;
  unknown.set_function("no_such_function");
  *unknown.add_inputs() = NumberValue(1);
  items.clear();
  status = calls_->Map(unknown, &items);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
      << StatusText(status);
  EXPECT_TRUE(items.empty());
}

TEST_F(ExecutorTest, MapTimeoutIsDeadlineExceededAndCancelsTheRest) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  MapRequest request;
  request.set_function("sleep");
  *request.add_inputs() = NumberValue(0.01);
  *request.add_inputs() = NumberValue(kLongSleepSeconds);
  *request.add_inputs() = NumberValue(kLongSleepSeconds);
  *request.mutable_timeout() = DurationProto(absl::Seconds(1));
  std::vector<MapItem> items;
  grpc::Status status = calls_->Map(request, &items);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << StatusText(status);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].index(), 0);
  EXPECT_EQ(items[0].outcome().value().number_value(), 0.01);

  // The long sleeps were cancelled, so nothing runs or waits any more.
  MustAwaitStats([](const GetStatsResponse& s) {
    return ThreadPool(s).running() == 0 && ThreadPool(s).queued() == 0 &&
           s.waiting_calls() == 0;
  });
}

TEST_F(ExecutorTest, MapOverTheInputLimitIsRejected) {
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon(/*unix_socket=*/false, {"--max_map_inputs=3"}));
  MapRequest request;
  request.set_function("square");
  for (int i = 0; i < 4; ++i) *request.add_inputs() = NumberValue(i);
  std::vector<MapItem> items;
  grpc::Status status = calls_->Map(request, &items);
  // The contract names the limit but not its code.
  EXPECT_TRUE(status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
              status.error_code() == grpc::StatusCode::INVALID_ARGUMENT)
      << StatusText(status);
  EXPECT_TRUE(items.empty());

  request.mutable_inputs()->RemoveLast();
  status = calls_->Map(request, &items);
  EXPECT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(items.size(), 3u);
}

// --- Release ----------------------------------------------------------------

TEST_F(ExecutorTest, ReleaseForgetsDoneFutures) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  const std::string a = MustSubmit(CallOf("square", {NumberValue(2)}));
  const std::string b = MustSubmit(FailCall("ValueError", "x"));
  MustResult(a);
  MustResult(b);

  ReleaseResponse response;
  grpc::Status status = calls_->Release({a, b}, &response);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(response.released(), 2);
  for (const std::string& id : {a, b}) {
    FutureInfo info;
    status = calls_->GetFuture(id, &info);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
        << StatusText(status);
  }
  GetStatsResponse stats;
  ASSERT_TRUE(calls_->GetStats(&stats).ok());
  EXPECT_EQ(stats.futures(), 0);
}

TEST_F(ExecutorTest,
       ReleaseOfAFutureNotDoneIsFailedPreconditionAndReleasesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false));
  const std::string done = MustSubmit(CallOf("square", {NumberValue(2)}));
  MustResult(done);
  const std::string sleeper = MustSubmit(SleepCall(kLongSleepSeconds));

  ReleaseResponse response;
  grpc::Status status = calls_->Release({done, sleeper}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
      << StatusText(status);
  FutureInfo info;
  EXPECT_TRUE(calls_->GetFuture(done, &info).ok()) << "nothing released";
  EXPECT_TRUE(calls_->GetFuture(sleeper, &info).ok());

  status = calls_->Release({done, kUnknownId}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
      << StatusText(status);
  EXPECT_TRUE(calls_->GetFuture(done, &info).ok()) << "nothing released";
  CancelSleep(sleeper);
}

// --- ListFunctions and GetStats ----------------------------------------------

TEST_F(ExecutorTest, ListFunctionsListsTheBuiltinsWithSignatures) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  ListFunctionsResponse response;
  grpc::Status status = calls_->ListFunctions(&response);
  ASSERT_TRUE(status.ok()) << StatusText(status);

  std::map<std::string, FunctionInfo> functions;
  for (const FunctionInfo& f : response.functions()) functions[f.name()] = f;
  for (const char* name :
       {"sleep", "echo", "square", "fail", "factorial", "simulate_download"}) {
    SCOPED_TRACE(name);
    ASSERT_EQ(functions.count(name), 1u) << response.ShortDebugString();
    const FunctionInfo& f = functions[name];
    EXPECT_FALSE(f.description().empty());
    EXPECT_TRUE(absl::StartsWith(f.signature(), absl::StrCat(name, "(")))
        << f.signature();
    EXPECT_TRUE(absl::EndsWith(f.signature(), ")")) << f.signature();
    for (const futured::v1::Parameter& p : f.parameters()) {
      EXPECT_TRUE(absl::StrContains(f.signature(), p.name()))
          << f.signature() << " lacks " << p.name();
      EXPECT_EQ(p.required(), !p.has_default_value()) << p.ShortDebugString();
    }
  }

  auto param = [&](const std::string& function,
                   size_t i) -> const futured::v1::Parameter& {
    static const futured::v1::Parameter kMissing;
    const FunctionInfo& f = functions[function];
    if (i >= static_cast<size_t>(f.parameters_size())) {
      ADD_FAILURE() << function << " has no parameter " << i << ": "
                    << f.ShortDebugString();
      return kMissing;
    }
    return f.parameters(static_cast<int>(i));
  };
  EXPECT_EQ(functions["sleep"].signature(), "sleep(seconds: number)");
  EXPECT_EQ(functions["sleep"].parameters_size(), 1);
  EXPECT_EQ(param("sleep", 0).name(), "seconds");
  EXPECT_EQ(param("sleep", 0).type(), "number");
  EXPECT_TRUE(param("sleep", 0).required());

  EXPECT_EQ(param("echo", 0).name(), "value");
  EXPECT_EQ(param("square", 0).name(), "x");
  EXPECT_TRUE(param("square", 0).required());

  EXPECT_EQ(param("fail", 0).name(), "type");
  EXPECT_FALSE(param("fail", 0).required());
  EXPECT_EQ(param("fail", 0).default_value().string_value(), "RuntimeError");
  EXPECT_EQ(param("fail", 1).name(), "message");
  EXPECT_FALSE(param("fail", 1).required());
  EXPECT_EQ(param("fail", 1).default_value().string_value(), "task failed");

  EXPECT_EQ(param("factorial", 0).name(), "n");
  EXPECT_TRUE(param("factorial", 0).required());
  EXPECT_TRUE(param("factorial", 0).type() == "integer" ||
              param("factorial", 0).type() == "number")
      << param("factorial", 0).type();

  EXPECT_EQ(param("simulate_download", 0).name(), "url");
  EXPECT_EQ(param("simulate_download", 0).type(), "string");
  EXPECT_TRUE(param("simulate_download", 0).required());
  EXPECT_EQ(param("simulate_download", 1).name(), "seconds");
  EXPECT_FALSE(param("simulate_download", 1).required());
  EXPECT_EQ(param("simulate_download", 1).default_value().number_value(), 2);
}

TEST_F(ExecutorTest, GetStatsReportsPoolFuturesAndWaitingCalls) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(
      /*unix_socket=*/false, {"--threads=3", "--queue_capacity=7"}));
  GetStatsResponse stats;
  ASSERT_TRUE(calls_->GetStats(&stats).ok());
  // "process" and "thread", by name.
  ASSERT_EQ(stats.pools_size(), 2) << stats.ShortDebugString();
  EXPECT_EQ(stats.pools(0).name(), "process");
  EXPECT_EQ(stats.pools(0).kind(), "process");
  const futured::v1::PoolStats pool = ThreadPool(stats);
  EXPECT_EQ(pool.kind(), "thread");
  EXPECT_EQ(pool.workers(), 3);
  EXPECT_EQ(pool.queue_capacity(), 7);
  EXPECT_EQ(pool.queued(), 0);
  EXPECT_EQ(pool.running(), 0);
  EXPECT_EQ(stats.futures(), 0);
  EXPECT_EQ(stats.waiting_calls(), 0);
  EXPECT_TRUE(stats.has_start_time());

  MustResult(MustSubmit(CallOf("square", {NumberValue(2)})));
  const std::string sleeper = MustSubmit(SleepCall(kLongSleepSeconds));
  MustAwaitState(sleeper, futured::v1::FUTURE_STATE_RUNNING);

  // One Result waiting on the sleeper, made asynchronously.
  grpc::ClientContext context;
  SetDeadline(&context);
  ResultRequest request;
  request.set_id(sleeper);
  FutureInfo result;
  grpc::Status result_status;
  absl::Notification result_done;
  calls_->stub().async()->Result(&context, &request, &result,
                                 [&](grpc::Status status) {
                                   result_status = std::move(status);
                                   result_done.Notify();
                                 });
  // Whatever happens below, the call ends before its context goes away.
  absl::Cleanup end_call = [&] {
    context.TryCancel();
    result_done.WaitForNotification();
  };

  stats = MustAwaitStats(
      [](const GetStatsResponse& s) { return s.waiting_calls() == 1; });
  EXPECT_EQ(stats.futures(), 2);
  EXPECT_EQ(ThreadPool(stats).running(), 1);

  CancelSleep(sleeper);
  ASSERT_TRUE(result_done.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_TRUE(result_status.ok()) << StatusText(result_status);
  EXPECT_EQ(result.state(), futured::v1::FUTURE_STATE_CANCELLED);
  MustAwaitStats([](const GetStatsResponse& s) {
    return s.waiting_calls() == 0 && ThreadPool(s).running() == 0;
  });
}

// --- Flags ------------------------------------------------------------------

TEST_F(ExecutorTest, FinishedFuturesAreForgottenAfterTheRetention) {
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon(/*unix_socket=*/true, {"--retention=1s"}));
  const std::string id = MustSubmit(CallOf("square", {NumberValue(2)}));
  MustResult(id);
  // Bounded in count and time: at most 30 s of 10 ms polls.
  grpc::Status status;
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  for (int i = 0; i < 3000 && absl::Now() < give_up; ++i) {
    FutureInfo info;
    status = calls_->GetFuture(id, &info);
    if (!status.ok()) break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND)
      << StatusText(status);
  GetStatsResponse stats;
  ASSERT_TRUE(calls_->GetStats(&stats).ok());
  EXPECT_EQ(stats.futures(), 0);
}

TEST_F(ExecutorTest, RequestOverMaxMessageBytesIsResourceExhausted) {
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon(/*unix_socket=*/false, {"--max_message_bytes=4096"}));
  std::string id;
  grpc::Status status = calls_->Submit(
      CallOf("echo", {StringValue(std::string(8192, 'x'))}), &id);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << StatusText(status);
  // A small one still goes through.
  FutureInfo info = MustResult(MustSubmit(CallOf("echo", {StringValue("x")})));
  EXPECT_EQ(info.outcome().value().string_value(), "x");
}

}  // namespace
}  // namespace futured::testing
