// What /proc says about a daemon's resources that could leak: descriptors,
// child processes (and zombies among them), threads and resident memory.
#ifndef FUTURED_TESTS_SOAK_PROCESS_CENSUS_H_
#define FUTURED_TESTS_SOAK_PROCESS_CENSUS_H_

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace futured::soak {

// One reading. A value type; Take() reads /proc and makes no other call.
struct ProcessCensus {
  int threads = 0;              // /proc/<pid>/status Threads
  int64_t rss_bytes = 0;        // VmRSS
  int fds = 0;                  // entries of /proc/<pid>/fd
  std::vector<pid_t> children;  // processes whose parent is <pid>
  int zombie_children = 0;      // of those, in state Z
  // Threads by name (/proc/<pid>/task/*/comm), e.g. {"default-executo", 2}.
  std::map<std::string, int> thread_names;

  static ProcessCensus Take(pid_t pid);
};

// Whether `child`'s parent is `parent`, per /proc/<child>/stat.
bool IsChildOf(pid_t child, pid_t parent);

}  // namespace futured::soak

#endif  // FUTURED_TESTS_SOAK_PROCESS_CENSUS_H_
