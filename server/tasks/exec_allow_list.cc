#include "server/tasks/exec_allow_list.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace futured::server {
namespace {

// realpath(3), or the errno it failed with.
absl::StatusOr<std::string> RealPath(const std::string& path) {
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) {
    return absl::NotFoundError(std::strerror(errno));
  }
  return std::string(resolved);
}

}  // namespace

absl::StatusOr<ExecAllowList> ExecAllowList::Create(
    const std::vector<std::string>& paths) {
  std::vector<std::string> real_paths;
  for (const std::string& path : paths) {
    if (!absl::StartsWith(path, "/")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--exec_allow entry '", path, "' is not an absolute path"));
    }
    absl::StatusOr<std::string> real = RealPath(path);
    if (!real.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--exec_allow entry '", path, "': ", real.status().message()));
    }
    struct stat st {};
    if (stat(real->c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        access(real->c_str(), X_OK) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--exec_allow entry '", path, "' (", *real,
                       ") is not an executable file"));
    }
    real_paths.push_back(*std::move(real));
  }
  std::sort(real_paths.begin(), real_paths.end());
  real_paths.erase(std::unique(real_paths.begin(), real_paths.end()),
                   real_paths.end());
  return ExecAllowList(std::move(real_paths));
}

absl::StatusOr<std::string> ExecAllowList::Resolve(
    absl::string_view program) const {
  if (empty()) {
    return absl::PermissionDeniedError(
        "exec is disabled on this daemon: an operator must list the programs "
        "it may run with --exec_allow=/absolute/path,...");
  }
  if (!absl::StartsWith(program, "/")) {
    return absl::PermissionDeniedError(absl::StrCat(
        "exec runs only programs named by absolute path, got '", program, "'"));
  }
  absl::StatusOr<std::string> real = RealPath(std::string(program));
  if (!real.ok()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "exec may not run '", program, "': ", real.status().message()));
  }
  if (!std::binary_search(real_paths_.begin(), real_paths_.end(), *real)) {
    return absl::PermissionDeniedError(
        absl::StrCat("exec may not run '", program, "' (", *real,
                     "): it is not in the daemon's --exec_allow list"));
  }
  return real;
}

}  // namespace futured::server
