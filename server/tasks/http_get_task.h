// http.get: fetches a web page with libcurl and reads its <title> with
// gumbo, the seed's web scraper's fetch_and_parse() done by the daemon.
#ifndef FUTURED_SERVER_TASKS_HTTP_GET_TASK_H_
#define FUTURED_SERVER_TASKS_HTTP_GET_TASK_H_

#include <cstdint>

#include "server/task/task_registry.h"

namespace futured::server {

// The largest body http.get(max_bytes=...) may ask for.
inline constexpr int64_t kHttpGetMaxBytesCap = int64_t{64} << 20;

// http.get(url, timeout=30, max_bytes=10 MiB)
//   -> {"status": 200, "url": final URL after redirects,
//       "content_type": "text/html; charset=utf-8" or null,
//       "bytes": body size, "title": the HTML <title>'s text or null}
// Only http:// and https:// URLs, also for redirects (at most 10): another
// scheme is INVALID_ARGUMENT at Submit, or a task error "InvalidSchema" when
// a server redirects to one. An HTTP error status (404, 500) is a result
// with that status, not an error. A transport failure is a task error
// naming the cause with libcurl's message: "ConnectionError" (refused,
// unresolved, reset), "TimeoutError" (after `timeout` seconds, or at the
// Submit deadline if that comes first), "SSLError", "TooManyRedirects", and
// "ResponseTooLargeError" for a body over `max_bytes` (at most 64 MiB).
// The title is parsed only from an HTML (or untyped) response; its
// whitespace is collapsed as browsers do. Stops within ~0.1 s of a cancel
// (thread pools). Must be built after curl_global_init (the spec's
// construction does it, single-threaded, at start-up).
TaskSpec HttpGetTaskSpec();

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASKS_HTTP_GET_TASK_H_
