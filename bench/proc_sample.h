// What /proc says about one process: CPU time, resident memory, threads.
#ifndef FUTURED_BENCH_PROC_SAMPLE_H_
#define FUTURED_BENCH_PROC_SAMPLE_H_

#include <sys/types.h>

#include <cstdint>

namespace futured::bench {

// One reading of /proc/<pid>/{stat,status}. A value type; Read() makes no
// call but reads two small files.
struct ProcSample {
  double cpu_seconds = 0;  // user + system, since the process started
  int64_t rss_bytes = 0;   // VmRSS
  int threads = 0;

  // Zeroes if the process is gone or the files do not parse.
  static ProcSample Read(pid_t pid);
};

}  // namespace futured::bench

#endif  // FUTURED_BENCH_PROC_SAMPLE_H_
