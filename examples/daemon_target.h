// Which futured daemon an example talks to. Pure function; thread-safe.
#ifndef FUTURED_EXAMPLES_DAEMON_TARGET_H_
#define FUTURED_EXAMPLES_DAEMON_TARGET_H_

#include <string>

namespace futured::examples {

// argv[1] if given, else $FUTURED_TARGET if set, else "127.0.0.1:50051":
// "host:port" or "unix:/path/to.sock".
std::string DaemonTarget(int argc, char** argv);

}  // namespace futured::examples

#endif  // FUTURED_EXAMPLES_DAEMON_TARGET_H_
