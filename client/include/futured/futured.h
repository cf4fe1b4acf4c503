// The futured client library in one include: Python's concurrent.futures
// against a futured daemon. See client.h to start, errors.h for the error
// model.
#ifndef FUTURED_CLIENT_INCLUDE_FUTURED_FUTURED_H_
#define FUTURED_CLIENT_INCLUDE_FUTURED_FUTURED_H_

#include "futured/as_completed.h"  // IWYU pragma: export
#include "futured/call.h"          // IWYU pragma: export
#include "futured/client.h"        // IWYU pragma: export
#include "futured/credentials.h"   // IWYU pragma: export
#include "futured/errors.h"        // IWYU pragma: export
#include "futured/executor.h"      // IWYU pragma: export
#include "futured/future.h"        // IWYU pragma: export
#include "futured/info.h"          // IWYU pragma: export
#include "futured/json.h"          // IWYU pragma: export
#include "futured/map_results.h"   // IWYU pragma: export
#include "futured/value.h"         // IWYU pragma: export
#include "futured/wait.h"          // IWYU pragma: export

#endif  // FUTURED_CLIENT_INCLUDE_FUTURED_FUTURED_H_
