// Future<T>: a local proxy for one future held by the daemon, with the
// methods of Python's concurrent.futures.Future.
//
//   futured::Future<std::string> f = executor.submit<std::string>(
//       "simulate_download", "http://example.com");
//   f.add_done_callback([](const futured::Future<std::string>& done) { ... });
//   std::string content = f.result(absl::Seconds(3));  // TimeoutError after 3
//   s
//
// A Future is a cheap, copyable handle: copies share one proxy, so what one
// copy learns the others know. Once the proxy has seen the outcome (from
// result(), exception(), done(), cancel(), as_completed() or a callback) it
// never asks the daemon again. Copies compare equal, and hash alike, when
// they name the same future ID, so a Future can key a map as in Python's
// `future_to_url = {executor.submit(...): url}`.
//
// T is the C++ type of the result (value.h); Future<Value> (the default)
// keeps it as JSON; Future<void> ignores it. The result is converted on each
// result() call; a mismatch throws ValueError and leaves the future as it is.
//
// Thread-safe: any method may be called from any thread, on any copy. Methods
// marked "asks the daemon" block the caller for one call (bounded by
// ClientOptions::call_timeout) unless the proxy already knows the outcome;
// result() and exception() block until done or the timeout passes.
// Errors: see errors.h.
#ifndef FUTURED_CLIENT_INCLUDE_FUTURED_FUTURE_H_
#define FUTURED_CLIENT_INCLUDE_FUTURED_FUTURE_H_

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/time/time.h"
#include "futured/errors.h"
#include "futured/info.h"
#include "futured/value.h"

namespace futured {

namespace internal {
class FutureProxy;  // The shared proxy state; private to the library.
}  // namespace internal

// The untyped part of every Future<T>; use Future<T>.
class FutureBase {
 public:
  // The daemon's ID of the future ("" for a default-constructed Future).
  const std::string& id() const;

  // As Python: true if the future is cancelled now (also when it already
  // was), false if it already finished. A pending future is cancelled and
  // never runs, and its done-callbacks have run when cancel() returns (in
  // this thread, as Python runs them). Unlike Python, a running one is told
  // to stop, and the daemon waits briefly (its --cancel_grace) so that a
  // task which stops shows as cancelled. Asks the daemon unless the outcome
  // is known.
  bool cancel() const;
  // True if the future was cancelled. Asks the daemon unless done is known.
  bool cancelled() const;
  // True if a worker is running the task now. Asks the daemon unless done
  // is known.
  bool running() const;
  // True if finished or cancelled. Asks the daemon until it sees done.
  bool done() const;

  // Waits up to `timeout` (infinite by default) and returns the task's error,
  // or std::nullopt if it returned a value. Throws CancelledError if the
  // future was cancelled, TimeoutError if it is not done in time.
  std::optional<TaskError> exception(
      absl::Duration timeout = absl::InfiniteDuration()) const;

  // A snapshot: the last one seen once done, else asks the daemon.
  FutureInfo info() const;

  // The latest progress the task reported (a fraction in [0, 1] and a short
  // message), or std::nullopt if it has reported none (yet). Asks the
  // daemon unless the outcome is known.
  std::optional<Progress> progress() const;

  // Follows the future until it is done, calling `on_change` in this thread
  // with each snapshot the daemon sends over one FollowProgress stream: the
  // state now, then after each change (it starts, its task reports
  // progress), the final state last. Changes faster than on_change returns
  // are coalesced, so each snapshot is the latest. Returns the final
  // snapshot (the outcome is then known; result() makes no call). Throws
  // TimeoutError if not done within `timeout` (the future keeps running),
  // RpcError, or what on_change throws. Blocks.
  FutureInfo follow(const std::function<void(const FutureInfo&)>& on_change,
                    absl::Duration timeout = absl::InfiniteDuration()) const;

  // True for every Future that is not default-constructed.
  bool valid() const { return proxy_ != nullptr; }

  friend bool operator==(const FutureBase& a, const FutureBase& b) {
    return a.id() == b.id();
  }
  // By ID, so that Futures can key a std::map or std::set.
  friend bool operator<(const FutureBase& a, const FutureBase& b) {
    return a.id() < b.id();
  }

  // For the library's own templates; not part of the API.
  const std::shared_ptr<internal::FutureProxy>& proxy() const { return proxy_; }

 protected:
  FutureBase() = default;
  explicit FutureBase(std::shared_ptr<internal::FutureProxy> proxy)
      : proxy_(std::move(proxy)) {}

  // Waits as result() does and returns the value, or throws the task's
  // TaskError, CancelledError or TimeoutError.
  Value ResultValue(absl::Duration timeout) const;
  // Registers `callback` to run once when the future is done (see
  // Future<T>::add_done_callback).
  void AddDoneCallback(
      std::function<void(const std::shared_ptr<internal::FutureProxy>&)>
          callback) const;

 private:
  std::shared_ptr<internal::FutureProxy> proxy_;
};

template <class T = Value>
class Future : public FutureBase {
 public:
  // An invalid Future; every method but valid() and id() throws Error.
  Future() = default;
  // For the library; users get Futures from Executor::submit,
  // Client::submit and Client::future.
  explicit Future(std::shared_ptr<internal::FutureProxy> proxy)
      : FutureBase(std::move(proxy)) {}

  // Waits up to `timeout` (infinite by default) for the future and returns
  // its value as T. Throws the task's TaskError, CancelledError if it was
  // cancelled, TimeoutError if it is not done in time (it keeps running),
  // ValueError if the value is not a T, RpcError if the call failed.
  T result(absl::Duration timeout = absl::InfiniteDuration()) const {
    if constexpr (std::is_void_v<T>) {
      ResultValue(timeout);
    } else {
      return FromValue<T>(ResultValue(timeout));
    }
  }

  // Runs `fn(*this)` exactly once when the future is done. If this proxy
  // already knows it is done, fn runs at once in the calling thread, as in
  // Python. A cancel() of this client that cancels the future runs it before
  // cancel() returns. Otherwise it runs on the client's callback thread (one
  // per Client, never a gRPC thread) when the daemon reports the future
  // done, over the client's one Watch stream. Callbacks run one at a time
  // on that thread: a slow
  // callback delays the others, but may block and may call the library. An
  // exception escaping fn is caught and reported on stderr, as Python logs
  // it. If the stream fails (daemon gone, client destroyed), pending
  // callbacks still run once, and their futures' result() throws RpcError.
  void add_done_callback(std::function<void(const Future<T>&)> fn) const {
    AddDoneCallback(
        [fn = std::move(fn)](const std::shared_ptr<internal::FutureProxy>& p) {
          fn(Future<T>(p));
        });
  }

  // The same future, with the result read as U.
  template <class U>
  Future<U> as() const {
    return Future<U>(proxy());
  }
};

}  // namespace futured

template <class T>
struct std::hash<futured::Future<T>> {
  std::size_t operator()(const futured::Future<T>& f) const {
    return std::hash<std::string>()(f.id());
  }
};

#endif  // FUTURED_CLIENT_INCLUDE_FUTURED_FUTURE_H_
