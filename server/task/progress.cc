#include "server/task/progress.h"

#include <algorithm>
#include <cmath>

#include "server/task/utf8.h"

namespace futured::server {

Progress MakeProgress(double fraction, absl::string_view message,
                      absl::Time now) {
  const double clamped =
      std::isnan(fraction) ? 0.0 : std::clamp(fraction, 0.0, 1.0);
  return Progress{.fraction = clamped,
                  .message = ToValidUtf8(message, kMaxProgressMessageBytes),
                  .update_time = now};
}

}  // namespace futured::server
