// MapResults<R>: what Executor::map returns, Python's lazy result iterator.
//
//   for (int square : executor.map<int>("square", std::vector{1, 2, 3})) ...
//
// A single-pass input range yielding each input's result as R, in input
// order. Incrementing waits for the next result (until the map's timeout);
// it throws a TaskError at the position of an input whose task raised (or
// whose arguments do not fit the function: TypeError), TimeoutError when
// the map's timeout passes, CancelledError, ValueError or RpcError; after a
// throw the range is at its end and the tasks not yet yielded are
// cancelled, as Python's map does.
//
// As Python's map, by default every input is read and submitted by map()
// itself; an endless range then never returns (as in Python). With
// MapOptions::buffersize (Python 3.14's buffersize), at most that many
// tasks are in flight and the inputs are read as the results are yielded,
// so an endless range runs in bounded memory.
//
// On the wire (Python's chunksize, done for you): the inputs go in chunks of
// at most 4,096, one daemon Map call each (with buffersize: chunks of
// buffersize / 2, two calls in flight, the next chunk read and sent once a
// chunk's results have all been yielded); each call streams its results
// back in input order, many per message. Map's futures live as long as their
// call: nothing is left in the daemon's table. Executor::shutdown(wait=true)
// waits for the calls in flight as Python waits for a map's futures: it
// reads their results and keeps them for the iteration. An input the daemon
// cannot call (unknown function or pool) fails its whole chunk with
// RpcError when the iteration reaches that chunk. A map larger than the
// daemon's queue (--queue_capacity) needs a buffersize: the chunks that do
// not fit fail with RpcError RESOURCE_EXHAUSTED.
//
// Destroying a MapResults before its end cancels the tasks not yet yielded
// (blocks for those calls), as closing Python's iterator does; one never
// read (begin() not called) leaves them running, and the executor's
// shutdown waits for them. Move-only; thread-compatible (one thread
// iterates). With buffersize, an input range passed as an lvalue must
// outlive the MapResults.
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
  // Tasks submitted but not yet yielded, at most; at least 1 (else map
  // throws ValueError). Unset (Python's None, the default): every input is
  // submitted at once.
  std::optional<std::size_t> buffersize = std::nullopt;
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

  // Submits every input, or the first `options.buffersize` (throws
  // ValueError for buffersize 0, RuntimeError if the executor is shut down,
  // what the input source throws).
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
