#include "tests/integration/async_result_calls.h"

#include <utility>

#include "tests/integration/executor_calls.h"

namespace futured::testing {

AsyncResultCalls::AsyncResultCalls(futured::v1::Executor::Stub& stub,
                                   const std::string& id, int count,
                                   absl::Duration timeout)
    : state_(std::make_unique<State>(count)) {
  for (Call& call : state_->calls) {
    SetDeadline(&call.context, kDeadline);
    call.request.set_id(id);
    if (timeout != absl::ZeroDuration()) {
      *call.request.mutable_timeout() = DurationProto(timeout);
    }
  }
  State* state = state_.get();
  for (Call& call : state_->calls) {
    Call* raw = &call;
    stub.async()->Result(&call.context, &call.request, &call.response,
                         [state, raw](grpc::Status status) {
                           raw->status = std::move(status);
                           state->CallEnded();
                         });
  }
}

AsyncResultCalls::~AsyncResultCalls() {
  if (state_->all_ended.HasBeenNotified()) return;
  for (Call& call : state_->calls) call.context.TryCancel();
  if (!state_->all_ended.WaitForNotificationWithTimeout(absl::Seconds(30))) {
    state_.release();  // callbacks may still run: leak, never free
  }
}

bool AsyncResultCalls::WaitAll(absl::Duration limit) {
  return state_->all_ended.WaitForNotificationWithTimeout(limit);
}

int AsyncResultCalls::Ended() {
  absl::MutexLock lock(&state_->mu);
  return state_->ended;
}

AsyncResultCalls::State::State(int count) : calls(count) {
  if (count == 0) all_ended.Notify();
}

void AsyncResultCalls::State::CallEnded() {
  bool last;
  {
    absl::MutexLock lock(&mu);
    last = ++ended == static_cast<int>(calls.size());
  }
  if (last) all_ended.Notify();
}

}  // namespace futured::testing
