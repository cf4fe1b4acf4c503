// The batched paths on the wire: SubmitBatch (each item its own status, the
// batch-size limit), and AsCompleted / Map messages that carry several
// completions while every future is still delivered exactly once.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "futured/v1/executor.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/integration/daemon_test.h"

namespace futured::testing {
namespace {

using ::futured::v1::AsCompletedRequest;
using ::futured::v1::AsCompletedResponse;
using ::futured::v1::FutureInfo;
using ::futured::v1::MapRequest;
using ::futured::v1::MapResponse;
using ::futured::v1::SubmitBatchRequest;
using ::futured::v1::SubmitBatchResponse;
using ::futured::v1::SubmitRequest;

SubmitRequest Echo(double x, const std::string& pool = "") {
  SubmitRequest request;
  request.set_function("echo");
  request.add_args()->set_number_value(x);
  request.set_pool(pool);
  return request;
}

class BatchTest : public DaemonTest {
 protected:
  grpc::Status SubmitBatch(const SubmitBatchRequest& request,
                           SubmitBatchResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    return calls_->stub().SubmitBatch(&context, request, response);
  }

  // Submits `n` echo calls in batches of 1,000; their IDs in order.
  std::vector<std::string> SubmitEchoes(int n) {
    std::vector<std::string> ids;
    for (int first = 0; first < n; first += 1000) {
      SubmitBatchRequest request;
      for (int i = first; i < std::min(n, first + 1000); ++i) {
        *request.add_requests() = Echo(i);
      }
      SubmitBatchResponse response;
      grpc::Status status = SubmitBatch(request, &response);
      EXPECT_TRUE(status.ok()) << StatusText(status);
      for (const auto& result : response.results()) {
        EXPECT_EQ(result.code(), 0) << result.message();
        ids.push_back(result.id());
      }
    }
    return ids;
  }

  // Reads a whole AsCompleted stream; the sizes of its messages too.
  grpc::Status ReadAsCompleted(const AsCompletedRequest& request,
                               std::vector<FutureInfo>* futures,
                               std::vector<int>* message_sizes) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    auto reader = calls_->stub().AsCompleted(&context, request);
    AsCompletedResponse response;
    while (reader->Read(&response)) {
      message_sizes->push_back(response.futures_size());
      for (const FutureInfo& info : response.futures())
        futures->push_back(info);
    }
    return reader->Finish();
  }
};

TEST_F(BatchTest, EachItemGetsItsOwnStatusAndOneBadItemFailsNoOther) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false));
  SubmitBatchRequest request;
  *request.add_requests() = Echo(1);                   // 0: OK
  request.add_requests()->set_function("no_such_fn");  // 1: NOT_FOUND
  SubmitRequest* bad_args = request.add_requests();    // 2: INVALID_ARGUMENT
  bad_args->set_function("square");
  bad_args->add_args()->set_string_value("x");
  *request.add_requests() = Echo(2, "no_such_pool");    // 3: NOT_FOUND
  SubmitRequest* bad_timeout = request.add_requests();  // 4: INVALID_ARGUMENT
  *bad_timeout = Echo(3);
  bad_timeout->mutable_timeout()->set_seconds(-1);
  *request.add_requests() = Echo(4, "process");  // 5: OK
  request.add_requests();                        // 6: no function
  *request.add_requests() = Echo(5);             // 7: OK

  SubmitBatchResponse response;
  grpc::Status status = SubmitBatch(request, &response);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(response.results_size(), request.requests_size());
  const std::vector<grpc::StatusCode> expected = {
      grpc::StatusCode::OK,
      grpc::StatusCode::NOT_FOUND,
      grpc::StatusCode::INVALID_ARGUMENT,
      grpc::StatusCode::NOT_FOUND,
      grpc::StatusCode::INVALID_ARGUMENT,
      grpc::StatusCode::OK,
      grpc::StatusCode::INVALID_ARGUMENT,
      grpc::StatusCode::OK};
  for (int i = 0; i < response.results_size(); ++i) {
    const auto& result = response.results(i);
    EXPECT_EQ(result.code(), expected[i]) << i << ": " << result.message();
    if (expected[i] == grpc::StatusCode::OK) {
      EXPECT_FALSE(result.id().empty()) << i;
      EXPECT_TRUE(result.message().empty()) << i;
    } else {
      EXPECT_TRUE(result.id().empty()) << i;
      EXPECT_FALSE(result.message().empty()) << i;
    }
  }
  EXPECT_NE(response.results(1).message().find("no_such_fn"),
            std::string::npos);
  // The good ones ran, in their pools.
  const std::map<int, std::pair<double, std::string>> good = {
      {0, {1, "thread"}}, {5, {4, "process"}}, {7, {5, "thread"}}};
  for (const auto& [index, want] : good) {
    FutureInfo info = MustResult(response.results(index).id());
    EXPECT_EQ(info.outcome().value().number_value(), want.first) << index;
    EXPECT_EQ(info.pool(), want.second) << index;
  }
}

TEST_F(BatchTest, AFullQueueRefusesOnlyTheItemsThatDoNotFit) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false,
                                      {"--threads=1", "--queue_capacity=2"}));
  SubmitBatchRequest request;
  for (int i = 0; i < 6; ++i) {
    SubmitRequest* sleep = request.add_requests();
    sleep->set_function("sleep");
    sleep->add_args()->set_number_value(3600);
  }
  SubmitBatchResponse response;
  grpc::Status status = SubmitBatch(request, &response);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  ASSERT_EQ(response.results_size(), 6);
  std::vector<std::string> accepted;
  int refused = 0;
  for (const auto& result : response.results()) {
    if (result.code() == grpc::StatusCode::OK) {
      accepted.push_back(result.id());
    } else {
      EXPECT_EQ(result.code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
          << result.message();
      ++refused;
    }
  }
  // One worker and two queue slots: two or three fit, depending on whether
  // the worker took the first before the others were queued.
  EXPECT_GE(accepted.size(), 2u);
  EXPECT_LE(accepted.size(), 3u);
  EXPECT_EQ(refused, 6 - static_cast<int>(accepted.size()));
  for (const std::string& id : accepted) MustCancel(id);
}

TEST_F(BatchTest, TooManyItemsFailTheWholeCallAndSubmitNothing) {
  ASSERT_NO_FATAL_FAILURE(
      StartDaemon(/*unix_socket=*/false, {"--max_ids_per_call=5"}));
  SubmitBatchRequest request;
  for (int i = 0; i < 6; ++i) *request.add_requests() = Echo(i);
  SubmitBatchResponse response;
  grpc::Status status = SubmitBatch(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << StatusText(status);
  EXPECT_NE(status.error_message().find("max_ids_per_call"), std::string::npos);
  v1::GetStatsResponse stats;
  ASSERT_TRUE(calls_->GetStats(&stats).ok());
  EXPECT_EQ(stats.futures(), 0);

  request.mutable_requests()->RemoveLast();  // five: at the limit
  response.Clear();
  status = SubmitBatch(request, &response);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(response.results_size(), 5);
}

TEST_F(BatchTest, AnEmptyBatchAnswersAnEmptyList) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  SubmitBatchResponse response;
  grpc::Status status = SubmitBatch(SubmitBatchRequest(), &response);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  EXPECT_EQ(response.results_size(), 0);
}

TEST_F(BatchTest, AsCompletedSendsFuturesDoneTogetherInOneMessageEachOnce) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  constexpr int kFutures = 3000;
  const std::vector<std::string> ids = SubmitEchoes(kFutures);
  ASSERT_EQ(ids.size(), static_cast<size_t>(kFutures));
  // All done before the call: they are ready together.
  for (int first = 0; first < kFutures; first += 1000) {
    v1::WaitRequest wait;
    for (int i = first; i < first + 1000; ++i) wait.add_ids(ids[i]);
    v1::WaitResponse done;
    ASSERT_TRUE(calls_->Wait(wait, &done).ok());
    ASSERT_EQ(done.done_size(), 1000);
  }
  AsCompletedRequest request;
  for (const std::string& id : ids) request.add_ids(id);
  for (int i = 0; i < 100; ++i) request.add_ids(ids[i]);  // duplicates
  std::vector<FutureInfo> futures;
  std::vector<int> sizes;
  grpc::Status status = ReadAsCompleted(request, &futures, &sizes);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  std::multiset<std::string> seen;
  for (const FutureInfo& info : futures) seen.insert(info.id());
  EXPECT_EQ(futures.size(), static_cast<size_t>(kFutures));
  for (const std::string& id : ids) EXPECT_EQ(seen.count(id), 1u) << id;
  EXPECT_LT(sizes.size(), static_cast<size_t>(kFutures))
      << "futures ready together went out one per message";
  EXPECT_GT(*std::max_element(sizes.begin(), sizes.end()), 1);
}

TEST_F(BatchTest, AsCompletedDeliversEachOnceWhileTheyComplete) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/false, {"--threads=2"}));
  constexpr int kFutures = 2000;
  const std::vector<std::string> ids = SubmitEchoes(kFutures);
  AsCompletedRequest request;
  for (const std::string& id : ids) request.add_ids(id);
  std::vector<FutureInfo> futures;
  std::vector<int> sizes;
  grpc::Status status = ReadAsCompleted(request, &futures, &sizes);
  ASSERT_TRUE(status.ok()) << StatusText(status);
  std::multiset<std::string> seen;
  for (const FutureInfo& info : futures) {
    EXPECT_TRUE(info.done()) << info.id();
    seen.insert(info.id());
  }
  EXPECT_EQ(futures.size(), static_cast<size_t>(kFutures));
  for (const std::string& id : ids) EXPECT_EQ(seen.count(id), 1u) << id;
}

TEST_F(BatchTest, MapItemsComeEachOnceInInputOrderSeveralPerMessage) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon(/*unix_socket=*/true));
  for (const std::string pool : {"thread", "process"}) {
    constexpr int kInputs = 5000;
    MapRequest request;
    request.set_function("echo");
    request.set_pool(pool);
    for (int i = 0; i < kInputs; ++i) {
      request.add_inputs()->set_number_value(i);
    }
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    auto reader = calls_->stub().Map(&context, request);
    MapResponse response;
    int64_t next = 0;
    int messages = 0;
    while (reader->Read(&response)) {
      ++messages;
      for (const v1::MapItem& item : response.items()) {
        ASSERT_EQ(item.index(), next) << pool;
        ASSERT_EQ(item.outcome().value().number_value(), next) << pool;
        ++next;
      }
    }
    grpc::Status status = reader->Finish();
    ASSERT_TRUE(status.ok()) << pool << ": " << StatusText(status);
    EXPECT_EQ(next, kInputs) << pool;
    EXPECT_GE(messages, 1) << pool;
  }
}

}  // namespace
}  // namespace futured::testing
