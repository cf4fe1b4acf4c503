#include "examples/daemon_target.h"

#include <cstdlib>
#include <string>

namespace futured::examples {

std::string DaemonTarget(int argc, char** argv) {
  if (argc > 1) return argv[1];
  if (const char* target = std::getenv("FUTURED_TARGET");
      target != nullptr && *target != '\0') {
    return target;
  }
  return "127.0.0.1:50051";
}

}  // namespace futured::examples
