#include "duration_arg.h"

#include <optional>
#include <string>
#include <string_view>

#include "absl/strings/numbers.h"
#include "absl/time/time.h"

namespace futured::ctl {

std::optional<absl::Duration> ParseDurationArg(std::string_view text) {
  const std::string owned(text);
  absl::Duration duration;
  double seconds = 0;
  if (absl::SimpleAtod(owned, &seconds)) {
    if (!(seconds >= 0)) return std::nullopt;  // also NaN
    duration = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(owned, &duration)) {
    return std::nullopt;
  }
  if (duration < absl::ZeroDuration()) return std::nullopt;
  return duration;
}

}  // namespace futured::ctl
