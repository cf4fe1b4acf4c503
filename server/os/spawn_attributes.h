// posix_spawn attributes for a child that starts clean: the daemon's blocked
// signals and ignored dispositions are not inherited, and the child leads a
// process group of its own, so that it can be signalled as one group.
#ifndef FUTURED_SERVER_OS_SPAWN_ATTRIBUTES_H_
#define FUTURED_SERVER_OS_SPAWN_ATTRIBUTES_H_

#include <spawn.h>

namespace futured::server {

// Owns one posix_spawnattr_t set up as above. Used by one thread, for one
// posix_spawn call or more.
class CleanSpawnAttributes {
 public:
  CleanSpawnAttributes();
  ~CleanSpawnAttributes();
  CleanSpawnAttributes(const CleanSpawnAttributes&) = delete;
  CleanSpawnAttributes& operator=(const CleanSpawnAttributes&) = delete;

  const posix_spawnattr_t* get() const { return &attr_; }

 private:
  posix_spawnattr_t attr_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_OS_SPAWN_ATTRIBUTES_H_
