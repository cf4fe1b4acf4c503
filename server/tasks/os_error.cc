#include "server/tasks/os_error.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace futured::server {
namespace {

// Python's errno -> OSError subclass table (PEP 3151).
const char* PythonTypeOf(int error) {
  switch (error) {
    case ENOENT:
      return "FileNotFoundError";
    case EACCES:
    case EPERM:
      return "PermissionError";
    case EISDIR:
      return "IsADirectoryError";
    case ENOTDIR:
      return "NotADirectoryError";
    case EEXIST:
      return "FileExistsError";
    case EINTR:
      return "InterruptedError";
    case ETIMEDOUT:
      return "TimeoutError";
    case ECHILD:
      return "ChildProcessError";
    case ESRCH:
      return "ProcessLookupError";
    case EPIPE:
      return "BrokenPipeError";
    default:
      return "OSError";
  }
}

}  // namespace

TaskError OsError(int error, absl::string_view what) {
  return TaskError{.type = PythonTypeOf(error),
                   .message = absl::StrCat(what, ": ", std::strerror(error))};
}

}  // namespace futured::server
