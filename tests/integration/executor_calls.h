// Blocking calls to futured.v1.Executor for integration tests, each with a
// client deadline so that no test can hang on the daemon, plus builders for
// the values those calls carry.
#ifndef FUTURED_TESTS_INTEGRATION_EXECUTOR_CALLS_H_
#define FUTURED_TESTS_INTEGRATION_EXECUTOR_CALLS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "futured/v1/executor.grpc.pb.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "grpcpp/grpcpp.h"

namespace futured::testing {

// Every call below uses this client deadline unless told otherwise.
inline constexpr absl::Duration kDefaultCallDeadline = absl::Seconds(60);

// One stub and synchronous wrappers around each RPC. A streaming call reads
// its whole stream and returns what it read even when the call fails. Each
// method blocks for at most its deadline. Thread-safe (gRPC stubs are).
class ExecutorCalls {
 public:
  explicit ExecutorCalls(std::shared_ptr<grpc::Channel> channel);
  ExecutorCalls(const ExecutorCalls&) = delete;
  ExecutorCalls& operator=(const ExecutorCalls&) = delete;

  futured::v1::Executor::Stub& stub() { return *stub_; }

  grpc::Status Submit(const futured::v1::SubmitRequest& request,
                      std::string* id);
  grpc::Status GetFuture(absl::string_view id, futured::v1::FutureInfo* info);
  grpc::Status Result(const futured::v1::ResultRequest& request,
                      futured::v1::FutureInfo* info,
                      absl::Duration deadline = kDefaultCallDeadline);
  grpc::Status Cancel(absl::string_view id,
                      futured::v1::CancelResponse* response);
  grpc::Status Cancel(const futured::v1::CancelRequest& request,
                      futured::v1::CancelResponse* response);
  grpc::Status AsCompleted(const futured::v1::AsCompletedRequest& request,
                           std::vector<futured::v1::FutureInfo>* futures);
  grpc::Status Wait(const futured::v1::WaitRequest& request,
                    futured::v1::WaitResponse* response);
  grpc::Status Map(const futured::v1::MapRequest& request,
                   std::vector<futured::v1::MapItem>* items);
  grpc::Status Release(const std::vector<std::string>& ids,
                       futured::v1::ReleaseResponse* response);
  grpc::Status ListFunctions(futured::v1::ListFunctionsResponse* response);
  grpc::Status GetStats(futured::v1::GetStatsResponse* response);

  // Polls GetFuture every 10 ms, for at most `timeout`, until the future is
  // in `state`. DEADLINE_EXCEEDED (with the last state seen) if it never is;
  // the GetFuture error if a call fails.
  absl::StatusOr<futured::v1::FutureInfo> AwaitState(
      absl::string_view id, futured::v1::FutureState state,
      absl::Duration timeout = absl::Seconds(30));

  // Polls GetStats every 10 ms, for at most `timeout`, until `condition`
  // holds, and returns those stats.
  absl::StatusOr<futured::v1::GetStatsResponse> AwaitStats(
      const std::function<bool(const futured::v1::GetStatsResponse&)>&
          condition,
      absl::Duration timeout = absl::Seconds(30));

 private:
  std::unique_ptr<futured::v1::Executor::Stub> stub_;
};

// Sets `context`'s deadline to now + `timeout`.
void SetDeadline(grpc::ClientContext* context,
                 absl::Duration timeout = kDefaultCallDeadline);

// "NOT_FOUND: future x not found", for assertion messages.
std::string StatusText(const grpc::Status& status);

google::protobuf::Value NumberValue(double number);
google::protobuf::Value StringValue(absl::string_view text);
google::protobuf::Value ListValue(std::vector<google::protobuf::Value> items);

google::protobuf::Duration DurationProto(absl::Duration duration);
// absl::InfinitePast() for an unset (all-zero) timestamp.
absl::Time TimeFromProto(const google::protobuf::Timestamp& timestamp);

// A SubmitRequest for `function` with positional `args`.
futured::v1::SubmitRequest CallOf(
    absl::string_view function, std::vector<google::protobuf::Value> args = {});

}  // namespace futured::testing

#endif  // FUTURED_TESTS_INTEGRATION_EXECUTOR_CALLS_H_
