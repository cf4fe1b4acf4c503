// One line per event on stderr: "<time> <LEVEL> message", or, when stderr is
// connected to the systemd journal ($JOURNAL_STREAM names it), "<N>message"
// with N the syslog priority, which journald files as the line's priority
// and stamps with its own time.
#ifndef FUTURED_COMMON_LOG_H_
#define FUTURED_COMMON_LOG_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace futured {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

// "debug", "info", "warning" or "error"; INVALID_ARGUMENT otherwise.
absl::StatusOr<LogLevel> ParseLogLevel(absl::string_view name);

// Lines below `level` are dropped. Default: kInfo. Thread-safe.
void SetLogLevel(LogLevel level);

// Whether a line at `level` would be written: lets callers skip building
// debug lines nobody reads. Thread-safe.
bool LogEnabled(LogLevel level);

// Writes "2026-11-26T01:02:03.123456Z INFO message\n" (or "<6>message\n" to
// the journal) to stderr in one write(2), so lines from different threads
// never interleave. Thread-safe.
void Log(LogLevel level, absl::string_view message);

}  // namespace futured

#endif  // FUTURED_COMMON_LOG_H_
