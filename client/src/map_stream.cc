#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client_core.h"
#include "executor_core.h"
#include "future_proxy.h"
#include "futured/call.h"
#include "futured/errors.h"
#include "futured/map_results.h"
#include "info_convert.h"
#include "rpc_status.h"

namespace futured::internal {
namespace {

// Yielded futures released on the daemon per Release call.
constexpr std::size_t kReleaseBatch = 64;

}  // namespace

struct MapStream::State {
  std::shared_ptr<ExecutorCore> executor;
  std::string function;
  InputSource inputs;
  MapOptions options;
  absl::Time deadline;
  // Submitted, not yet yielded, in input order.
  std::deque<std::shared_ptr<FutureProxy>> in_flight;
  bool inputs_done = false;
  bool finished = false;
  std::vector<std::string> yielded;  // IDs to release

  // Submits inputs until `buffersize` are in flight or the inputs end.
  void Fill() {
    while (!inputs_done && in_flight.size() < options.buffersize) {
      std::optional<Value> input = inputs();
      if (!input.has_value()) {
        inputs_done = true;
        return;
      }
      Call call(function);
      if (options.spread_inputs && input->has_list_value()) {
        for (const Value& arg : input->list_value().values()) call.arg(arg);
      } else {
        call.arg(*input);
      }
      in_flight.push_back(executor->Submit(call));
    }
  }

  // Python's map on an error: the futures not yielded are cancelled.
  void CancelInFlight() {
    finished = true;
    for (const auto& proxy : in_flight) {
      try {
        proxy->Cancel();
      } catch (const Error&) {
        // Best effort, as Python's future.cancel().
      }
    }
    in_flight.clear();
  }

  // Forgets yielded futures on the daemon; best effort.
  void ReleaseYielded() {
    if (yielded.empty()) return;
    v1::ReleaseRequest request;
    for (const std::string& id : yielded) request.add_ids(id);
    yielded.clear();
    grpc::ClientContext context;
    executor->client().SetCallDeadline(&context);
    v1::ReleaseResponse response;
    (void)executor->client().stub().Release(&context, request, &response);
  }
};

MapStream::MapStream(std::shared_ptr<ExecutorCore> executor,
                     std::string function, InputSource inputs,
                     const MapOptions& options)
    : state_(std::make_unique<State>()) {
  if (options.buffersize < 1) throw Error("map buffersize must be at least 1");
  state_->executor = std::move(executor);
  state_->function = std::move(function);
  state_->inputs = std::move(inputs);
  state_->options = options;
  state_->deadline = options.timeout == absl::InfiniteDuration()
                         ? absl::InfiniteFuture()
                         : absl::Now() + options.timeout;
  try {
    state_->Fill();
  } catch (...) {
    state_->CancelInFlight();
    throw;
  }
}

MapStream::~MapStream() {
  state_->CancelInFlight();
  state_->ReleaseYielded();
}

std::optional<Value> MapStream::Next() {
  State& s = *state_;
  if (s.finished) return std::nullopt;
  if (s.in_flight.empty()) {
    s.finished = true;
    s.ReleaseYielded();
    return std::nullopt;
  }
  std::shared_ptr<FutureProxy> head = std::move(s.in_flight.front());
  s.in_flight.pop_front();
  try {
    s.Fill();
    const absl::Duration timeout = s.deadline == absl::InfiniteFuture()
                                       ? absl::InfiniteDuration()
                                       : s.deadline - absl::Now();
    Value value = OutcomeValueOrThrow(head->AwaitFinal(timeout));
    s.yielded.push_back(head->id());
    if (s.yielded.size() >= kReleaseBatch) s.ReleaseYielded();
    return value;
  } catch (...) {
    s.in_flight.push_front(std::move(head));
    s.CancelInFlight();
    throw;
  }
}

}  // namespace futured::internal
