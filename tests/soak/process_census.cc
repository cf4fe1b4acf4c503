#include "tests/soak/process_census.h"

#include <dirent.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "bench/proc_sample.h"

namespace futured::soak {
namespace {

// Names of the entries of `dir`, without "." and "..".
std::vector<std::string> Entries(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return names;
  while (const dirent* entry = readdir(d)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  return names;
}

// The state letter and parent PID from /proc/<pid>/stat; false if gone.
bool ReadStat(pid_t pid, char* state, pid_t* parent) {
  // One line. getline, not an istreambuf_iterator: reading the file of a
  // process that has just exited fails (ESRCH), which libstdc++'s filebuf
  // throws as an exception that getline turns into a failed read.
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string text;
  if (!std::getline(in, text)) return false;
  // "pid (comm) S ppid ...": comm may hold spaces and parentheses.
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(text.substr(close + 1));
  rest >> *state >> *parent;
  return !rest.fail();
}

}  // namespace

ProcessCensus ProcessCensus::Take(pid_t pid) {
  ProcessCensus census;
  const bench::ProcSample sample = bench::ProcSample::Read(pid);
  census.threads = sample.threads;
  census.rss_bytes = sample.rss_bytes;
  census.fds =
      static_cast<int>(Entries(absl::StrCat("/proc/", pid, "/fd")).size());
  for (const std::string& task :
       Entries(absl::StrCat("/proc/", pid, "/task"))) {
    std::ifstream in(absl::StrCat("/proc/", pid, "/task/", task, "/comm"));
    std::string name;
    if (std::getline(in, name)) ++census.thread_names[name];
  }
  for (const std::string& name : Entries("/proc")) {
    pid_t other = 0;
    if (!absl::SimpleAtoi(name, &other)) continue;
    char state = 0;
    pid_t parent = 0;
    if (!ReadStat(other, &state, &parent) || parent != pid) continue;
    census.children.push_back(other);
    if (state == 'Z') ++census.zombie_children;
  }
  return census;
}

bool IsChildOf(pid_t child, pid_t parent) {
  char state = 0;
  pid_t actual = 0;
  return ReadStat(child, &state, &actual) && actual == parent;
}

}  // namespace futured::soak
