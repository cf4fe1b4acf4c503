// The programs an operator lets the exec task run (--exec_allow).
#ifndef FUTURED_SERVER_TASKS_EXEC_ALLOW_LIST_H_
#define FUTURED_SERVER_TASKS_EXEC_ALLOW_LIST_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace futured::server {

// A set of executables by their real paths (symbolic links resolved). Empty
// means exec is disabled, the default. Immutable after Create(), so any
// thread may use it.
class ExecAllowList {
 public:
  ExecAllowList() = default;  // empty: nothing may run

  // `paths` must be absolute and name executable regular files (after
  // resolving links); INVALID_ARGUMENT naming the first that does not.
  static absl::StatusOr<ExecAllowList> Create(
      const std::vector<std::string>& paths);

  bool empty() const { return real_paths_.empty(); }
  // The resolved paths, sorted; what a worker process is given.
  const std::vector<std::string>& real_paths() const { return real_paths_; }

  // The real path to run for `program` (a command's argv[0]): it must be
  // absolute and resolve to a listed executable. PERMISSION_DENIED saying
  // why otherwise (exec disabled, relative path, not found, not listed).
  // Reads the file system (realpath); does not block otherwise.
  absl::StatusOr<std::string> Resolve(absl::string_view program) const;

 private:
  explicit ExecAllowList(std::vector<std::string> real_paths)
      : real_paths_(std::move(real_paths)) {}

  std::vector<std::string> real_paths_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASKS_EXEC_ALLOW_LIST_H_
