// Durations as futurectl reads them from its flags (--timeout,
// --task-timeout). Pure functions; thread-safe.
#ifndef FUTURED_CLIENT_FUTURECTL_DURATION_ARG_H_
#define FUTURED_CLIENT_FUTURECTL_DURATION_ARG_H_

#include <optional>
#include <string_view>

#include "absl/time/time.h"

namespace futured::ctl {

// "2.5" (seconds, as Python's timeout=2.5), or abseil's syntax: "1.5s",
// "250ms", "2m", "1h30m", "inf". std::nullopt for anything else and for a
// negative duration.
std::optional<absl::Duration> ParseDurationArg(std::string_view text);

}  // namespace futured::ctl

#endif  // FUTURED_CLIENT_FUTURECTL_DURATION_ARG_H_
