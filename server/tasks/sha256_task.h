// hash.sha256: the SHA-256 digest of a file or of bytes, through OpenSSL.
#ifndef FUTURED_SERVER_TASKS_SHA256_TASK_H_
#define FUTURED_SERVER_TASKS_SHA256_TASK_H_

#include "server/task/task_registry.h"

namespace futured::server {

// hash.sha256(path=null, data=null, data_base64=null)
//   -> {"sha256": "<64 lower-case hex digits>", "bytes": <bytes hashed>}
// Exactly one of the three: `path` (absolute; a regular file the daemon, or
// its worker, can read; read in chunks, so any size), `data` (a string,
// hashed as its UTF-8 bytes) or `data_base64` (binary input, standard
// base64). Submit is INVALID_ARGUMENT for none, two, a relative path or bad
// base64. A file that cannot be read is a task error named as Python names
// it: FileNotFoundError, PermissionError, IsADirectoryError, or ValueError
// for a file that is not a regular one (a FIFO, a device), OSError for the
// rest. Stops when cancelled (thread pools; between chunks).
TaskSpec Sha256TaskSpec();

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASKS_SHA256_TASK_H_
