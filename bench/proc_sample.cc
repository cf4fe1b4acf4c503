#include "bench/proc_sample.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace futured::bench {
namespace {

// utime + stime of /proc/<pid>/stat, in seconds.
double CpuSeconds(pid_t pid) {
  // One line; getline turns a failed read (the process just exited:
  // ESRCH, thrown by libstdc++'s filebuf) into an empty one.
  std::ifstream file(absl::StrCat("/proc/", pid, "/stat"));
  std::string text;
  std::getline(file, text);
  // The command name may hold spaces; fields count from after its ')'.
  const std::size_t close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  // Field 3 (state) is the first after ')'; utime is 14, stime 15.
  for (int number = 3; number <= 15 && fields >> field; ++number) {
    if (number >= 14) {
      double value = 0;
      if (absl::SimpleAtod(field, &value)) ticks += value;
    }
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

ProcSample ProcSample::Read(pid_t pid) {
  ProcSample sample;
  sample.cpu_seconds = CpuSeconds(pid);
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    absl::string_view rest = line;
    if (absl::ConsumePrefix(&rest, "VmRSS:")) {
      rest = absl::StripAsciiWhitespace(rest);
      absl::ConsumeSuffix(&rest, " kB");
      int64_t kb = 0;
      if (absl::SimpleAtoi(rest, &kb)) sample.rss_bytes = kb * 1024;
    } else if (absl::ConsumePrefix(&rest, "Threads:")) {
      (void)absl::SimpleAtoi(absl::StripAsciiWhitespace(rest), &sample.threads);
    }
  }
  return sample;
}

}  // namespace futured::bench
