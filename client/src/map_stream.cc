#include <algorithm>
#include <cstddef>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client_core.h"
#include "executor_core.h"
#include "futured/errors.h"
#include "futured/map_results.h"
#include "info_convert.h"
#include "map_call.h"
#include "rpc_status.h"

namespace futured::internal {
namespace {

// Inputs per Map call, at most: far below the daemon's --max_map_inputs, and
// small enough that the first results come back soon.
constexpr std::size_t kMaxChunkInputs = 4096;
// Encoded input bytes per Map call, at most, so that a call stays well below
// the daemon's --max_message_bytes (4 MiB by default).
constexpr std::size_t kMaxChunkBytes = 1 << 20;

}  // namespace

struct MapStream::State {
  std::shared_ptr<ExecutorCore> executor;
  std::string function;
  InputSource inputs;
  MapOptions options;
  absl::Time deadline;
  std::size_t chunk_inputs = 1;  // inputs per Map call
  std::size_t max_chunks = 1;    // Map calls in flight
  // Map calls in flight, in input order; the front one is being yielded.
  std::deque<std::shared_ptr<MapCall>> chunks;
  bool inputs_done = false;
  bool started = false;  // Next() was called
  bool finished = false;

  // Starts Map calls until `max_chunks` are in flight or the inputs end.
  void Fill() {
    while (!inputs_done && chunks.size() < max_chunks) StartChunk();
  }

  // Reads up to `chunk_inputs` inputs and starts one Map call with them.
  void StartChunk() {
    v1::MapRequest request;
    std::size_t bytes = 0;
    while (static_cast<std::size_t>(request.inputs_size()) < chunk_inputs &&
           bytes < kMaxChunkBytes) {
      std::optional<Value> input = inputs();
      if (!input.has_value()) {
        inputs_done = true;
        inputs = nullptr;  // Frees an input range the map owns.
        break;
      }
      bytes += input->ByteSizeLong();
      *request.add_inputs() = *std::move(input);
    }
    if (request.inputs_size() == 0) return;
    request.set_function(function);
    request.set_spread_inputs(options.spread_inputs);
    request.set_pool(executor->pool());
    absl::Duration timeout = absl::InfiniteDuration();
    if (deadline != absl::InfiniteFuture()) {
      timeout = std::max(deadline - absl::Now(), absl::ZeroDuration());
      *request.mutable_timeout() = ToProtoDuration(timeout);
    }
    chunks.push_back(executor->StartMapCall(request, timeout));
  }

  [[noreturn]] void ThrowStreamEnded(const grpc::Status& status) {
    if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      throw TimeoutError(absl::StrCat("map: results not ready after ",
                                      absl::FormatDuration(options.timeout)));
    }
    ThrowIfFailed(status);
    throw Error("map: a Map call ended without an error");  // Not reached.
  }

  // Python's map on an error or when dropped once started: the tasks not
  // yielded are cancelled.
  void CancelInFlight() {
    finished = true;
    for (const auto& chunk : chunks) chunk->Cancel();
    chunks.clear();
  }
};

MapStream::MapStream(std::shared_ptr<ExecutorCore> executor,
                     std::string function, InputSource inputs,
                     const MapOptions& options)
    : state_(std::make_unique<State>()) {
  if (options.buffersize.has_value() && *options.buffersize < 1) {
    throw ValueError("map buffersize must be at least 1 (or unset)");
  }
  executor->CheckOpen();
  State& s = *state_;
  s.executor = std::move(executor);
  s.function = std::move(function);
  s.inputs = std::move(inputs);
  s.options = options;
  s.deadline = options.timeout == absl::InfiniteDuration()
                   ? absl::InfiniteFuture()
                   : absl::Now() + options.timeout;
  if (options.buffersize.has_value()) {
    // Two calls in flight, so the daemon works on the next chunk while this
    // one is yielded; together at most `buffersize` inputs.
    s.max_chunks = *options.buffersize >= 2 ? 2 : 1;
    s.chunk_inputs =
        std::min(kMaxChunkInputs, *options.buffersize / s.max_chunks);
  } else {
    // Python's default: every input is submitted now.
    s.max_chunks = std::numeric_limits<std::size_t>::max();
    s.chunk_inputs = kMaxChunkInputs;
  }
  try {
    s.Fill();
  } catch (...) {
    s.CancelInFlight();
    throw;
  }
}

MapStream::~MapStream() {
  State& s = *state_;
  if (s.started || s.finished) {
    s.CancelInFlight();
    return;
  }
  // Never read: as in Python, its tasks go on, and shutdown waits for them.
  s.executor->Adopt({s.chunks.begin(), s.chunks.end()});
}

std::optional<Value> MapStream::Next() {
  State& s = *state_;
  s.started = true;
  try {
    while (!s.finished) {
      if (s.chunks.empty()) {
        s.finished = true;
        break;
      }
      grpc::Status ended;
      if (std::optional<v1::Outcome> outcome = s.chunks.front()->Next(&ended)) {
        return OutcomeValueOrThrow(*outcome, "map item");
      }
      if (!ended.ok()) s.ThrowStreamEnded(ended);
      s.chunks.pop_front();
      s.Fill();
    }
  } catch (...) {
    s.CancelInFlight();
    throw;
  }
  return std::nullopt;
}

}  // namespace futured::internal
