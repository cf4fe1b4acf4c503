// The floor of futured-bench: a bare gRPC unary echo server in a process of
// its own, and a client that times calls to it.
#ifndef FUTURED_BENCH_ECHO_FLOOR_H_
#define FUTURED_BENCH_ECHO_FLOOR_H_

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "bench/latencies.h"

namespace futured::bench {

// Serves futured.bench.Echo on `listen` ("127.0.0.1:0" or "unix:/path")
// until killed; prints "echo listening on <address>" once it serves. The
// body of `futured-bench --echo_server`. Returns the exit status.
int RunEchoServer(const std::string& listen);

// An echo server started as a child (`binary --echo_server`), killed by the
// destructor. It also dies with this process (PR_SET_PDEATHSIG). Owned by one
// thread.
class EchoServerProcess {
 public:
  static absl::StatusOr<std::unique_ptr<EchoServerProcess>> Start(
      const std::string& binary, const std::string& listen);
  ~EchoServerProcess();
  EchoServerProcess(const EchoServerProcess&) = delete;
  EchoServerProcess& operator=(const EchoServerProcess&) = delete;

  const std::string& address() const { return address_; }

 private:
  EchoServerProcess() = default;

  pid_t pid_ = -1;
  std::string address_;
};

// `calls` synchronous echo calls, one after the other, of a small value.
struct EchoFigures {
  Latencies latencies;
  double calls_per_second = 0;
};
absl::StatusOr<EchoFigures> MeasureEcho(const std::string& address, int calls);

}  // namespace futured::bench

#endif  // FUTURED_BENCH_ECHO_FLOOR_H_
