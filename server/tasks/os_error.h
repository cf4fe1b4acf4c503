// A failed system call as the task error Python would raise for it.
#ifndef FUTURED_SERVER_TASKS_OS_ERROR_H_
#define FUTURED_SERVER_TASKS_OS_ERROR_H_

#include "absl/strings/string_view.h"
#include "server/task/outcome.h"

namespace futured::server {

// TaskError whose type is the OSError subclass Python maps `error` (an errno
// value) to: ENOENT is "FileNotFoundError", EACCES and EPERM
// "PermissionError", EISDIR "IsADirectoryError", ENOTDIR
// "NotADirectoryError", ... and "OSError" for the rest. The message is
// "<what>: <strerror>", e.g. "cannot open /x: No such file or directory".
// Thread-safe.
TaskError OsError(int error, absl::string_view what);

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASKS_OS_ERROR_H_
