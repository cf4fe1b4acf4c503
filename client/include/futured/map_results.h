// MapResults<R>: what Executor::map returns, Python's lazy result iterator.
//
//   for (int square : executor.map<int>("square", std::vector{1, 2, 3})) ...
//
// A single-pass input range yielding each input's result as R, in input
// order. Incrementing waits for the next result (until the map's timeout);
// it throws the first TaskError at its position, TimeoutError when the
// map's timeout passes, CancelledError, ValueError or RpcError; after a
// throw the range is at its end and the futures not yet yielded are
// cancelled, as Python's map does. At most `buffersize` tasks are in flight,
// so an endless input range runs in bounded memory.
//
// On the wire (Python's chunksize, done for you): the inputs go in chunks of
// buffersize / 2 (at most 4,096), one daemon Map call each, two calls in
// flight; each call streams its results back in input order, many per
// message. The next chunk is read and sent once a chunk's results have all
// been yielded. Map's futures live only as long as their call: nothing is
// left in the daemon's table, and Executor::shutdown does not wait for them
// (destroy or finish the MapResults). An input the daemon refuses (unknown
// function, arguments that do not fit) fails its whole chunk with RpcError
// when the iteration reaches that chunk.
//
// Destroying a MapResults before its end cancels the tasks not yet yielded
// (blocks for those calls). Move-only; thread-compatible (one thread
// iterates). An input range passed as an lvalue must outlive the MapResults.
#ifndef FUTURED_CLIENT_INCLUDE_FUTURED_MAP_RESULTS_H_
#define FUTURED_CLIENT_INCLUDE_FUTURED_MAP_RESULTS_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/time/time.h"
#include "futured/single_pass_range.h"
#include "futured/value.h"

namespace futured {

// Options of Executor::map (Python's map(fn, *iterables, timeout, buffersize)).
struct MapOptions {
  // Overall, from the map() call: a result not ready by then throws
  // TimeoutError.
  absl::Duration timeout = absl::InfiniteDuration();
  // Tasks submitted but not yet yielded, at most; at least 1.
  std::size_t buffersize = 1024;
  // When set, an input that converts to a list is spread into positional
  // arguments (Python's map over several iterables); else each input is the
  // one argument.
  bool spread_inputs = false;
};

namespace internal {

class ExecutorCore;

// The untyped machinery behind MapResults; private to the library.
class MapStream {
 public:
  // Returns the next input as a Value, or std::nullopt at the end. May throw
  // ValueError (conversion).
  using InputSource = std::function<std::optional<Value>()>;

  // Submits the first `options.buffersize` inputs (throws what Submit
  // throws; Error if the executor is shut down).
  MapStream(std::shared_ptr<ExecutorCore> executor, std::string function,
            InputSource inputs, const MapOptions& options);
  ~MapStream();
  MapStream(const MapStream&) = delete;
  MapStream& operator=(const MapStream&) = delete;

  // The next result in input order, or std::nullopt at the end.
  std::optional<Value> Next();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace internal

template <class R = Value>
class MapResults : public internal::SinglePassRange<MapResults<R>, R> {
 public:
  explicit MapResults(std::unique_ptr<internal::MapStream> stream)
      : stream_(std::move(stream)) {}
  MapResults(MapResults&&) noexcept = default;
  MapResults& operator=(MapResults&&) noexcept = default;

 private:
  friend class internal::SinglePassRange<MapResults<R>, R>;

  const R* Current() const {
    return current_.has_value() ? &*current_ : nullptr;
  }
  void Fetch() {
    current_.reset();
    if (stream_ == nullptr) return;
    std::optional<Value> next;
    try {
      next = stream_->Next();
    } catch (...) {
      stream_.reset();
      throw;
    }
    if (!next.has_value()) {
      stream_.reset();
      return;
    }
    if constexpr (std::is_same_v<R, Value>) {
      current_ = std::move(*next);
    } else {
      try {
        current_ = FromValue<R>(*next);
      } catch (...) {
        stream_.reset();
        throw;
      }
    }
  }

  std::unique_ptr<internal::MapStream> stream_;
  std::optional<R> current_;
};

}  // namespace futured

#endif  // FUTURED_CLIENT_INCLUDE_FUTURED_MAP_RESULTS_H_
