// Many Result calls on one future, all in flight at once, for tests of how
// the daemon holds and answers waiting calls.
#ifndef FUTURED_TESTS_INTEGRATION_ASYNC_RESULT_CALLS_H_
#define FUTURED_TESTS_INTEGRATION_ASYNC_RESULT_CALLS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "futured/v1/executor.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace futured::testing {

// `count` Result calls on one future, started at once on gRPC's callback API
// by the constructor, each with a client deadline of kDeadline. Each call's
// context, request and response stay alive until its callback has run: the
// destructor cancels the calls still pending and waits (at most 30 s) for
// their callbacks, and if even that does not end them it leaks the calls
// rather than free memory gRPC may still write. `stub` must outlive this
// object.
//
// Threading: owned and used by one (test) thread; the callbacks run on gRPC
// threads and touch only the shared state behind the mutex and the
// notification. WaitAll() blocks; the other methods do not.
class AsyncResultCalls {
 public:
  // Far longer than any test waits: the calls end by the daemon's answer.
  static constexpr absl::Duration kDeadline = absl::Seconds(120);

  struct Call {
    grpc::ClientContext context;
    futured::v1::ResultRequest request;
    futured::v1::FutureInfo response;
    grpc::Status status;
  };

  // Starts the calls on future `id`. `timeout` becomes ResultRequest.timeout
  // unless it is zero.
  AsyncResultCalls(futured::v1::Executor::Stub& stub, const std::string& id,
                   int count, absl::Duration timeout = absl::ZeroDuration());
  ~AsyncResultCalls();

  AsyncResultCalls(const AsyncResultCalls&) = delete;
  AsyncResultCalls& operator=(const AsyncResultCalls&) = delete;

  // Waits at most `limit` for every callback; returns whether all ran.
  bool WaitAll(absl::Duration limit);
  // How many callbacks have run so far.
  int Ended();
  // Only after WaitAll() returned true.
  const std::vector<Call>& calls() const { return state_->calls; }

 private:
  // Shared with the callbacks; leaked if they might still run.
  struct State {
    explicit State(int count);
    // Notify() is the last thing the last callback does: once the test
    // thread sees it, it may destroy this State.
    void CallEnded();

    std::vector<Call> calls;  // never resized: callbacks hold pointers
    absl::Mutex mu;
    int ended ABSL_GUARDED_BY(mu) = 0;
    absl::Notification all_ended;
  };

  std::unique_ptr<State> state_;
};

}  // namespace futured::testing

#endif  // FUTURED_TESTS_INTEGRATION_ASYNC_RESULT_CALLS_H_
