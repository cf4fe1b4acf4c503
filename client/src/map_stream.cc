#include <algorithm>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client_core.h"
#include "executor_core.h"
#include "futured/errors.h"
#include "futured/map_results.h"
#include "info_convert.h"
#include "rpc_status.h"

namespace futured::internal {
namespace {

// Inputs per Map call, at most: far below the daemon's --max_map_inputs, and
// small enough that the first results come back soon.
constexpr std::size_t kMaxChunkInputs = 4096;
// Encoded input bytes per Map call, at most, so that a call stays well below
// the daemon's --max_message_bytes (4 MiB by default).
constexpr std::size_t kMaxChunkBytes = 1 << 20;

// One Map call: a chunk of consecutive inputs, its results streamed back in
// input order, several per message.
struct Chunk {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::MapResponse>> reader;
  std::size_t size = 0;      // inputs in the chunk
  std::size_t received = 0;  // items read so far
  v1::MapResponse response;  // the message being yielded
  int next_item = 0;         // in `response`

  // Ends the call at once; the daemon cancels the chunk's tasks not done.
  void Cancel() {
    context.TryCancel();
    (void)reader->Finish();
  }
};

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
  std::deque<std::unique_ptr<Chunk>> chunks;
  bool inputs_done = false;
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
    auto chunk = std::make_unique<Chunk>();
    chunk->size = static_cast<std::size_t>(request.inputs_size());
    executor->client().SetWaitDeadline(&chunk->context, timeout);
    chunk->reader = executor->client().stub().Map(&chunk->context, request);
    chunks.push_back(std::move(chunk));
  }

  // The next item of the front chunk, reading a message if needed; nullptr
  // once the chunk has sent all its items. Throws TimeoutError, RpcError.
  const v1::MapItem* NextItem() {
    Chunk& chunk = *chunks.front();
    if (chunk.next_item < chunk.response.items_size()) {
      return &chunk.response.items(chunk.next_item++);
    }
    if (chunk.received == chunk.size) {
      const grpc::Status status = chunk.reader->Finish();
      chunk.reader.reset();
      ThrowIfFailed(status);
      return nullptr;
    }
    chunk.next_item = 0;
    if (!chunk.reader->Read(&chunk.response) ||
        chunk.response.items_size() == 0) {
      const grpc::Status status = chunk.reader->Finish();
      chunk.reader.reset();
      ThrowStreamEnded(status);
    }
    chunk.received += static_cast<std::size_t>(chunk.response.items_size());
    return &chunk.response.items(chunk.next_item++);
  }

  [[noreturn]] void ThrowStreamEnded(const grpc::Status& status) {
    if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      throw TimeoutError(absl::StrCat("map: results not ready after ",
                                      absl::FormatDuration(options.timeout)));
    }
    ThrowIfFailed(status);
    throw Error("map: the daemon ended a Map call before all its results");
  }

  // Python's map on an error: the tasks not yielded are cancelled.
  void CancelInFlight() {
    finished = true;
    for (const auto& chunk : chunks) {
      if (chunk->reader != nullptr) chunk->Cancel();
    }
    chunks.clear();
  }
};

MapStream::MapStream(std::shared_ptr<ExecutorCore> executor,
                     std::string function, InputSource inputs,
                     const MapOptions& options)
    : state_(std::make_unique<State>()) {
  if (options.buffersize < 1) throw Error("map buffersize must be at least 1");
  executor->CheckOpen();
  State& s = *state_;
  s.executor = std::move(executor);
  s.function = std::move(function);
  s.inputs = std::move(inputs);
  s.options = options;
  s.deadline = options.timeout == absl::InfiniteDuration()
                   ? absl::InfiniteFuture()
                   : absl::Now() + options.timeout;
  // Two calls in flight, so the daemon works on the next chunk while this
  // one is yielded; together at most `buffersize` inputs.
  s.max_chunks = options.buffersize >= 2 ? 2 : 1;
  s.chunk_inputs = std::min(kMaxChunkInputs, options.buffersize / s.max_chunks);
  try {
    s.Fill();
  } catch (...) {
    s.CancelInFlight();
    throw;
  }
}

MapStream::~MapStream() { state_->CancelInFlight(); }

std::optional<Value> MapStream::Next() {
  State& s = *state_;
  try {
    while (!s.finished) {
      if (s.chunks.empty()) {
        s.finished = true;
        break;
      }
      if (const v1::MapItem* item = s.NextItem()) {
        return OutcomeValueOrThrow(item->outcome(), "map item");
      }
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
