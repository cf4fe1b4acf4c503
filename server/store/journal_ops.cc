#include "server/store/journal_ops.h"

#include <algorithm>
#include <iterator>

namespace futured::server::journal_ops {

int StateColumn(FutureState state) {
  const auto* it =
      std::find(std::begin(kStateColumns), std::end(kStateColumns), state);
  return static_cast<int>(it - std::begin(kStateColumns));
}

std::optional<FutureState> StateOfColumn(int64_t column) {
  if (column < 0 || column >= static_cast<int64_t>(std::size(kStateColumns))) {
    return std::nullopt;
  }
  return kStateColumns[column];
}

}  // namespace futured::server::journal_ops
