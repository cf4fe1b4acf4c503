// Executor: Python's Executor (ThreadPoolExecutor / ProcessPoolExecutor) for
// one of the daemon's pools.
//
//   futured::Client client("unix:/run/futured.sock");
//   {
//     futured::Executor executor = client.executor("thread");
//     auto f = executor.submit<double>("sleep", 0.5);
//     for (int sq : executor.map<int>("square", std::vector{1, 2, 3})) ...
//   }  // as Python's `with`: shutdown(wait=true)
//
// The pool's workers belong to the daemon (its --threads flag), so there is
// no max_workers. An Executor tracks the futures it submitted so that
// shutdown() can wait for or cancel them; other clients' work is not
// affected.
//
// Move-only. Thread-safe: submit, map and shutdown may be called from any
// thread. submit blocks for one call (ClientOptions::call_timeout); the
// destructor and shutdown(wait=true) block until the executor's futures are
// done. The Client it came from may be destroyed first: its connection lives
// until the last Executor, Future and range using it are gone.
#ifndef FUTURED_CLIENT_INCLUDE_FUTURED_EXECUTOR_H_
#define FUTURED_CLIENT_INCLUDE_FUTURED_EXECUTOR_H_

#include <initializer_list>
#include <memory>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "futured/call.h"
#include "futured/future.h"
#include "futured/map_results.h"
#include "futured/value.h"

namespace futured {

namespace internal {
class ClientCore;
class ExecutorCore;
}  // namespace internal

class Executor {
 public:
  Executor(Executor&&) noexcept;
  Executor& operator=(Executor&&) noexcept;
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;
  // shutdown(wait=true), as leaving Python's `with` block; errors are
  // swallowed (a destructor does not throw).
  ~Executor();

  // The daemon pool this executor submits to, e.g. "thread".
  const std::string& pool() const;

  // Python's submit(fn, *args): queues function(args...) and returns its
  // future. Throws RpcError (NOT_FOUND unknown function, INVALID_ARGUMENT
  // arguments that do not fit it, RESOURCE_EXHAUSTED queue full, ...),
  // ValueError (an argument does not convert), RuntimeError after shutdown().
  template <class T = Value, class... Args>
  Future<T> submit(std::string_view function, const Args&... args) {
    Call call{std::string(function)};
    (call.arg(args), ...);
    return Future<T>(Submit(call));
  }
  // The same with keyword arguments or a server-side timeout (call.h).
  template <class T = Value>
  Future<T> submit(const Call& call) {
    return Future<T>(Submit(call));
  }

  // submit(...).result() in one round trip (the daemon's Run call): runs
  // function(args...) and returns its result as T, or throws its TaskError
  // (CancelledError, RpcError as submit does, ValueError if the result does
  // not convert, RuntimeError after shutdown()). Blocks until the task is done;
  // nothing of it stays on the daemon, and shutdown() never waits for it.
  template <class T = Value, class... Args>
  T run(std::string_view function, const Args&... args) {
    Call call{std::string(function)};
    (call.arg(args), ...);
    return run<T>(call);
  }
  // The same with keyword arguments or a server-side timeout (call.h).
  template <class T = Value>
  T run(const Call& call) {
    return FromValue<T>(Run(call));
  }

  // Submits many calls in one round trip per 1,000 (the daemon's
  // SubmitBatch): the pipelined form of submit, for many small tasks.
  // Returns a future per call, in order. A call the daemon refuses (unknown
  // function, arguments that do not fit, queue full, ...) does not stop the
  // others: its future has an empty id() and its result() throws that
  // RpcError. Throws RuntimeError after shutdown(), RpcError if the daemon
  // cannot be reached.
  template <class T = Value>
  std::vector<Future<T>> submit_batch(const std::vector<Call>& calls) {
    std::vector<Future<T>> futures;
    futures.reserve(calls.size());
    for (auto& proxy : SubmitBatch(calls)) futures.emplace_back(proxy);
    return futures;
  }

  // Python's map(fn, inputs, timeout=..., buffersize=...): calls
  // function(input) for each input and returns the results lazily, in input
  // order, as R (map_results.h). `inputs` is any range of values that
  // convert (value.h); without a buffersize every input is sent now, as
  // Python submits them all, and shutdown(wait=true) waits for them; with
  // one, only that many are in flight (endless ranges too) and an lvalue
  // range must outlive the results. Errors of the daemon's (RpcError) and
  // of the tasks come from the iteration. Throws ValueError for buffersize
  // 0, RuntimeError after shutdown().
  template <class R = Value, std::ranges::input_range Range>
  MapResults<R> map(std::string_view function, Range&& inputs,
                    const MapOptions& options = {}) {
    using View = decltype(std::views::all(std::forward<Range>(inputs)));
    struct Source {
      View view;
      std::ranges::iterator_t<View> it;
    };
    auto source = std::make_shared<Source>(
        Source{std::views::all(std::forward<Range>(inputs)), {}});
    source->it = std::ranges::begin(source->view);
    return MapResults<R>(NewMapStream(
        function,
        [source]() -> std::optional<Value> {
          if (source->it == std::ranges::end(source->view)) {
            return std::nullopt;
          }
          Value value = ToValue(*source->it);
          ++source->it;
          return value;
        },
        options));
  }
  template <class R = Value, class T>
  MapResults<R> map(std::string_view function, std::initializer_list<T> inputs,
                    const MapOptions& options = {}) {
    return map<R>(function, std::vector<T>(inputs), options);
  }

  // Python's shutdown(wait=True, *, cancel_futures=False): submit, map and
  // run throw RuntimeError afterwards. With cancel_futures, the futures that
  // have not started are cancelled (running ones go on; not those of maps).
  // With wait, blocks until every future this executor submitted is done,
  // maps' included (their results are kept for their iteration). Safe to
  // call more than once. Throws RpcError if the daemon cannot be reached.
  void shutdown(bool wait = true, bool cancel_futures = false);

 private:
  friend class Client;
  explicit Executor(std::shared_ptr<internal::ExecutorCore> core);

  std::shared_ptr<internal::FutureProxy> Submit(const Call& call);
  // The value of a Run call's outcome; throws its error.
  Value Run(const Call& call);
  std::vector<std::shared_ptr<internal::FutureProxy>> SubmitBatch(
      const std::vector<Call>& calls);
  std::unique_ptr<internal::MapStream> NewMapStream(
      std::string_view function, internal::MapStream::InputSource inputs,
      const MapOptions& options);

  std::shared_ptr<internal::ExecutorCore> core_;  // null when moved from
};

}  // namespace futured

#endif  // FUTURED_CLIENT_INCLUDE_FUTURED_EXECUTOR_H_
