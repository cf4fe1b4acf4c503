// futured's version and how this binary was built, for --version and the
// start-up log line.
#ifndef FUTURED_SERVER_DAEMON_VERSION_H_
#define FUTURED_SERVER_DAEMON_VERSION_H_

#include <string>

namespace futured::server {

// The CMake project version, e.g. "0.1.0".
const char* Version();

// "futured 0.1.0 (git abc1234)\nbuilt with GNU 12.2.0, Release; gRPC 1.51.1,
// protobuf 3.21.12, abseil 20220623; allocator: jemalloc 5.3.0-...\n": what
// --version prints.
std::string VersionText();

}  // namespace futured::server

#endif  // FUTURED_SERVER_DAEMON_VERSION_H_
