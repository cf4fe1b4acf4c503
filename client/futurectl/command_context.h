// CommandContext: what every futurectl subcommand runs with. Commands print
// one JSON document per line on `out` (grpcurl's field names), report
// progress on stderr, and return an ExitCode for the ends a script must tell
// apart; errors of the client library (errors.h) propagate to main(), which
// maps them with ExitCodeForError.
//
// Borrowed references: the context must not outlive the Client and stream it
// names. Used by one thread.
#ifndef FUTURED_CLIENT_FUTURECTL_COMMAND_CONTEXT_H_
#define FUTURED_CLIENT_FUTURECTL_COMMAND_CONTEXT_H_

#include <ostream>
#include <string_view>

#include "absl/time/time.h"
#include "futured/client.h"

namespace futured::ctl {

struct CommandContext {
  const Client& client;
  // The options `client` was made with (its credentials).
  const ClientOptions& client_options;
  // The deadline of each call that does not wait for a task.
  absl::Duration call_timeout;
  // How long result, wait, as-completed and map wait: --timeout, else
  // forever (as Python's timeout=None).
  absl::Duration wait_timeout;
  std::ostream& out;

  // Prints `json` and a newline, and flushes so that a reader sees each
  // line as soon as it is known.
  void PrintLine(std::string_view json) const { out << json << std::endl; }
};

}  // namespace futured::ctl

#endif  // FUTURED_CLIENT_FUTURECTL_COMMAND_CONTEXT_H_
