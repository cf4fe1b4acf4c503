// A test's own temporary directory for the files it hands to the daemon or
// to futurectl (token files, flagfiles): owner-only, removed with the object.
#ifndef FUTURED_TESTS_INTEGRATION_TEMP_DIR_H_
#define FUTURED_TESTS_INTEGRATION_TEMP_DIR_H_

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace futured::testing {

// Not thread-safe; one test's.
class TempDir {
 public:
  TempDir() {
    char dir[] = "/tmp/futured_test.XXXXXX";
    if (mkdtemp(dir) == nullptr) std::abort();
    dir_ = dir;
  }
  ~TempDir() {
    for (const std::string& path : files_) unlink(path.c_str());
    rmdir(dir_.c_str());
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `content` to the file `name` in the directory, readable by its
  // owner only (as the daemon wants a token file), and returns its path.
  std::string Write(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    chmod(path.c_str(), 0600);
    files_.push_back(path);
    return path;
  }

 private:
  std::string dir_;
  std::vector<std::string> files_;
};

}  // namespace futured::testing

#endif  // FUTURED_TESTS_INTEGRATION_TEMP_DIR_H_
