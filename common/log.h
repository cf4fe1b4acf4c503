// One line per event on stderr, with a timestamp and a level.
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

// Writes "2026-11-26T01:02:03.123456Z INFO message\n" to stderr in one
// write(2), so lines from different threads never interleave. Thread-safe.
void Log(LogLevel level, absl::string_view message);

}  // namespace futured

#endif  // FUTURED_COMMON_LOG_H_
