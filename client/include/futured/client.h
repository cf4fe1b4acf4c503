// Client: a connection to one futured daemon, the entry point of the
// library.
//
//   futured::Client client("127.0.0.1:50051");      // or "unix:/path"
//   futured::Executor executor = client.executor();  // the "thread" pool
//
// Connecting is lazy: the constructor never blocks or fails for an
// unreachable daemon; the first call that needs it throws RpcError
// (UNAVAILABLE). A Client owns one gRPC channel, one Watch stream (started
// by the first add_done_callback that needs it) and one callback thread
// (started with it) for every done-callback of its futures.
//
// Thread-safe. Move-only. Destroying the Client cancels its Watch stream,
// runs the callbacks still pending (their futures then throw RpcError
// CANCELLED from result()), and joins the callback thread; Executors and
// Futures obtained from it keep the channel alive and go on working for
// everything else.
#ifndef FUTURED_CLIENT_INCLUDE_FUTURED_CLIENT_H_
#define FUTURED_CLIENT_INCLUDE_FUTURED_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "futured/call.h"
#include "futured/credentials.h"
#include "futured/executor.h"
#include "futured/future.h"
#include "futured/info.h"

namespace futured {

struct ClientOptions {
  // The deadline of each call that does not wait for a task: Submit,
  // GetFuture, Cancel (which the daemon may hold for its --cancel_grace),
  // Release, ListFunctions, GetStats. Calls that wait (result, exception,
  // as_completed, wait, map) use their own timeout instead: infinite, as in
  // Python, unless given.
  absl::Duration call_timeout = absl::Seconds(30);
  // A bearer token, TLS and a client certificate, for a daemon that asks for
  // them; by default none (plaintext, as a loopback daemon expects).
  Credentials credentials = {};
};

class Client {
 public:
  // `target`: "host:port" or "unix:/path/to.sock" (any gRPC target name),
  // or several nodes: "10.0.0.1:50051,10.0.0.2:50051" or a DNS name with
  // several addresses, "dns:///name:50051" (see NewChannel in channel.h).
  explicit Client(std::string target, ClientOptions options = {});
  ~Client();
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const std::string& target() const;

  // An executor for the daemon pool `pool` ("thread", "process"). Makes no
  // call: an unknown pool shows up as RpcError NOT_FOUND from submit.
  Executor executor(std::string pool = "thread") const;

  // A proxy for a future submitted earlier by the same principal (anyone,
  // when the daemon has no authentication), e.g. by ID from futurectl.
  // Makes no call: an unknown ID, or another principal's, shows up as
  // RpcError NOT_FOUND.
  template <class T = Value>
  Future<T> future(std::string id) const {
    return Future<T>(NewProxy(std::move(id)));
  }

  // Submits `call` to the daemon pool `pool` and returns its future, which
  // nothing tracks: unlike Executor::submit, no shutdown() cancels it and
  // nothing waits for it at scope exit, so a program may submit and exit at
  // once while the task runs on (e.g. `futurectl submit`). Blocks for one
  // call (ClientOptions::call_timeout). Throws as Executor::submit does:
  // RpcError (NOT_FOUND unknown function or pool, INVALID_ARGUMENT,
  // RESOURCE_EXHAUSTED queue full, ...).
  template <class T = Value>
  Future<T> submit(const Call& call, std::string_view pool = "thread") const {
    return Future<T>(SubmitUntracked(call, pool));
  }

  // Forgets done futures on the daemon; returns how many were released.
  // Throws RpcError: FAILED_PRECONDITION if one is not done (nothing is
  // released), NOT_FOUND if one is unknown.
  int64_t release(const std::vector<std::string>& ids) const;

  // The daemon's registered task functions.
  std::vector<FunctionInfo> functions() const;

  // The daemon's pool and table figures.
  Stats stats() const;

  // Waits up to `timeout` for the channel to connect; false if it did not.
  bool wait_for_connected(absl::Duration timeout) const;

 private:
  std::shared_ptr<internal::FutureProxy> NewProxy(std::string id) const;
  std::shared_ptr<internal::FutureProxy> SubmitUntracked(
      const Call& call, std::string_view pool) const;

  std::shared_ptr<internal::ClientCore> core_;  // null when moved from
};

}  // namespace futured

#endif  // FUTURED_CLIENT_INCLUDE_FUTURED_CLIENT_H_
