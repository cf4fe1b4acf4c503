// SIGTERM in a futured-worker process while exec runs a command: a request
// to stop the command's process group first, instead of instant death that
// would orphan it.
//
// The daemon stops a worker's task with SIGTERM, then SIGKILL after its
// --worker_kill_grace. Commands run in process groups of their own, which
// the daemon's signals to the worker's group do not reach; so while a
// TerminationDeferral is alive, SIGTERM only records the request and wakes
// TerminationRequestFd(), and the command runner ends the command's group
// (SIGTERM, then SIGKILL after a shorter grace) and returns; the worker then
// dies by SIGTERM after sending its result. Without a deferral SIGTERM kills
// the worker at once, as before.
#ifndef FUTURED_SERVER_TASKS_TERMINATION_REQUEST_H_
#define FUTURED_SERVER_TASKS_TERMINATION_REQUEST_H_

#include "absl/status/status.h"

namespace futured::server {

// Installs the SIGTERM handler. Call once, from the worker's main thread,
// before any task runs. Never call it in the daemon (which sigwaits SIGTERM).
absl::Status InstallTerminationRequestHandler();

// True once SIGTERM arrived after InstallTerminationRequestHandler().
// Async-signal-safe; any thread.
bool TerminationRequested();

// An eventfd that is readable once TerminationRequested(); -1 if the handler
// is not installed (as in the daemon). Never closed.
int TerminationRequestFd();

// Dies by SIGTERM (default action) if TerminationRequested(). The worker's
// main loop calls it after each task.
void DieIfTerminationRequested();

// While one exists, SIGTERM is a request rather than death. Scoped; any
// thread; may nest.
class TerminationDeferral {
 public:
  TerminationDeferral();
  ~TerminationDeferral();
  TerminationDeferral(const TerminationDeferral&) = delete;
  TerminationDeferral& operator=(const TerminationDeferral&) = delete;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASKS_TERMINATION_REQUEST_H_
