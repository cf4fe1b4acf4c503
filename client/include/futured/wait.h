// wait(futures, timeout, return_when): Python's concurrent.futures.wait.
//
//   auto [done, not_done] = futured::wait(futures, absl::Seconds(5),
//                                         futured::ReturnWhen::kFirstException);
//
// Returns when return_when holds or the timeout passes (then, as Python,
// without an error: the sets are as they are). kFirstCompleted: any future
// is done. kFirstException: any future finished with a TaskError
// (cancellation does not count), else when all are done. kAllCompleted: all
// are done. As in Python, every future that is done when wait() returns is
// in `done`. The futures this process already knows to be done count
// without a call; the others are asked about with one Wait call, which does
// not wait when what is known here settles return_when. For kFirstException
// that call also names the futures known done whose outcome this process
// has not seen (known from an earlier wait or shutdown): the daemon knows
// whether they raised.
//
// `futures` is a range of Future<T> or of pairs whose first member is one
// (see as_completed.h), from one Client. Each distinct future (by ID) lands
// in exactly one of done / not_done, in the order given. Throws RpcError
// (NOT_FOUND for a released future, ...). Blocks the caller; thread-safe.
#ifndef FUTURED_CLIENT_INCLUDE_FUTURED_WAIT_H_
#define FUTURED_CLIENT_INCLUDE_FUTURED_WAIT_H_

#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "futured/as_completed.h"
#include "futured/future.h"

namespace futured {

enum class ReturnWhen { kFirstCompleted, kFirstException, kAllCompleted };

// Python's DoneAndNotDoneFutures.
template <class F>
struct DoneAndNotDone {
  std::vector<F> done;
  std::vector<F> not_done;
};

namespace internal {

// Waits as wait() does on distinct proxies of one client; returns which are
// done, by index.
std::vector<bool> WaitForProxies(
    const std::vector<std::shared_ptr<FutureProxy>>& proxies,
    absl::Duration timeout, ReturnWhen return_when);

}  // namespace internal

template <class Range>
auto wait(const Range& futures,
          absl::Duration timeout = absl::InfiniteDuration(),
          ReturnWhen return_when = ReturnWhen::kAllCompleted) {
  auto distinct = internal::DistinctFutures(futures);
  using F = typename decltype(distinct)::value_type;
  std::vector<bool> is_done = internal::WaitForProxies(
      internal::ProxiesOf(distinct), timeout, return_when);
  DoneAndNotDone<F> sets;
  for (std::size_t i = 0; i < distinct.size(); ++i) {
    (is_done[i] ? sets.done : sets.not_done).push_back(distinct[i]);
  }
  return sets;
}

}  // namespace futured

#endif  // FUTURED_CLIENT_INCLUDE_FUTURED_WAIT_H_
