// Journal::Recover() into a vector, for tests of journals.
#ifndef FUTURED_TESTS_SERVER_STORE_RECOVER_ALL_H_
#define FUTURED_TESTS_SERVER_STORE_RECOVER_ALL_H_

#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "server/store/journal.h"

namespace futured::server {

// Every future Journal::Recover() brings back, in its order.
inline absl::StatusOr<std::vector<JournaledFuture>> RecoverAll(
    Journal& journal) {
  std::vector<JournaledFuture> futures;
  absl::Status read = journal.Recover(
      [&](JournaledFuture& f) { futures.push_back(std::move(f)); });
  if (!read.ok()) return read;
  return futures;
}

}  // namespace futured::server

#endif  // FUTURED_TESTS_SERVER_STORE_RECOVER_ALL_H_
