#include "server/os/spawn_attributes.h"

#include <csignal>

namespace futured::server {

CleanSpawnAttributes::CleanSpawnAttributes() {
  posix_spawnattr_init(&attr_);
  sigset_t no_signals;
  sigemptyset(&no_signals);
  sigset_t all_signals;
  sigfillset(&all_signals);
  posix_spawnattr_setsigmask(&attr_, &no_signals);
  posix_spawnattr_setsigdefault(&attr_, &all_signals);
  posix_spawnattr_setpgroup(&attr_, 0);
  posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSIGMASK |
                                       POSIX_SPAWN_SETSIGDEF |
                                       POSIX_SPAWN_SETPGROUP);
}

CleanSpawnAttributes::~CleanSpawnAttributes() {
  posix_spawnattr_destroy(&attr_);
}

}  // namespace futured::server
