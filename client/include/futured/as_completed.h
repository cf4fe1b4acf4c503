// as_completed(futures, timeout): Python's concurrent.futures.as_completed.
//
//   for (const auto& future : futured::as_completed(futures)) {
//     std::cout << future.result() << "\n";
//   }
//
// Yields each distinct future (by ID; duplicates are yielded once) as it
// completes: first those this process already knows are done, then the
// others in the order the daemon reports them, over one AsCompleted stream
// for all of them. The timeout counts from the as_completed() call: when it
// passes with futures still not done, incrementing the iterator throws
// TimeoutError, having yielded those that did complete. Each yielded proxy
// has seen its outcome, so its result() makes no call.
//
// `futures` is a range of Future<T> (a vector, a set) or of pairs whose
// first member is a Future<T> (a map from future to anything, as Python's
// `future_to_url`). The futures must come from one Client. Throws RpcError
// (e.g. NOT_FOUND for a released future, RESOURCE_EXHAUSTED for more IDs
// than the daemon's --max_ids_per_call).
//
// The returned range is single-pass and move-only, used by one thread; it
// copies the futures, so `futures` need not outlive it. Destroying it early
// cancels the stream (the futures go on).
#ifndef FUTURED_CLIENT_INCLUDE_FUTURED_AS_COMPLETED_H_
#define FUTURED_CLIENT_INCLUDE_FUTURED_AS_COMPLETED_H_

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "futured/future.h"
#include "futured/single_pass_range.h"

namespace futured {

namespace internal {

// The future in an element of a range of futures or of (future, x) pairs.
template <class E>
const auto& FutureOf(const E& element) {
  if constexpr (std::is_base_of_v<FutureBase, E>) {
    return element;
  } else {
    return element.first;
  }
}

// The distinct futures (by ID, first one kept) of a range, in order.
template <class Range>
auto DistinctFutures(const Range& futures) {
  using F = std::decay_t<decltype(FutureOf(*std::begin(futures)))>;
  std::vector<F> distinct;
  std::unordered_set<std::string> seen;
  for (const auto& element : futures) {
    const F& future = FutureOf(element);
    if (!future.valid()) throw Error("an invalid (default-constructed) Future");
    if (seen.insert(future.id()).second) distinct.push_back(future);
  }
  return distinct;
}

template <class F>
std::vector<std::shared_ptr<FutureProxy>> ProxiesOf(
    const std::vector<F>& futures) {
  std::vector<std::shared_ptr<FutureProxy>> proxies;
  proxies.reserve(futures.size());
  for (const F& future : futures) proxies.push_back(future.proxy());
  return proxies;
}

// The untyped machinery behind AsCompleted; private to the library.
class AsCompletedStream {
 public:
  // `proxies` are distinct and from one client (else throws Error). Starts
  // the stream if any is not known to be done.
  AsCompletedStream(std::vector<std::shared_ptr<FutureProxy>> proxies,
                    absl::Duration timeout);
  ~AsCompletedStream();
  AsCompletedStream(const AsCompletedStream&) = delete;
  AsCompletedStream& operator=(const AsCompletedStream&) = delete;

  // The index (into `proxies`) of the next completed future, or
  // std::nullopt when all were yielded. Throws TimeoutError, RpcError.
  std::optional<std::size_t> Next();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace internal

template <class F>
class AsCompleted : public internal::SinglePassRange<AsCompleted<F>, F> {
 public:
  AsCompleted(std::vector<F> futures, absl::Duration timeout)
      : futures_(std::move(futures)),
        stream_(std::make_unique<internal::AsCompletedStream>(
            internal::ProxiesOf(futures_), timeout)) {}
  AsCompleted(AsCompleted&&) noexcept = default;
  AsCompleted& operator=(AsCompleted&&) noexcept = default;

 private:
  friend class internal::SinglePassRange<AsCompleted<F>, F>;

  const F* Current() const {
    return current_.has_value() ? &futures_[*current_] : nullptr;
  }
  void Fetch() {
    current_.reset();
    if (stream_ == nullptr) return;
    try {
      current_ = stream_->Next();
    } catch (...) {
      stream_.reset();
      throw;
    }
    if (!current_.has_value()) stream_.reset();
  }

  std::vector<F> futures_;
  std::unique_ptr<internal::AsCompletedStream> stream_;
  std::optional<std::size_t> current_;
};

template <class Range>
auto as_completed(const Range& futures,
                  absl::Duration timeout = absl::InfiniteDuration()) {
  auto distinct = internal::DistinctFutures(futures);
  return AsCompleted<typename decltype(distinct)::value_type>(
      std::move(distinct), timeout);
}

}  // namespace futured

#endif  // FUTURED_CLIENT_INCLUDE_FUTURED_AS_COMPLETED_H_
