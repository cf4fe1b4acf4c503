// Idempotent submission: which future a client's request ID started.
#ifndef FUTURED_SERVER_ENGINE_REQUEST_INDEX_H_
#define FUTURED_SERVER_ENGINE_REQUEST_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/future/future.h"

namespace futured::server {

// Who asked, and the ID they chose for the request (AIP-155). The same
// request ID from two principals names two different requests.
struct RequestKey {
  std::string principal;  // "" is the anonymous principal
  std::string request_id;
};

// Maps (principal, request ID) to the future its first Submit started, so
// that a retried Submit gets that future back instead of running the task
// twice, for as long as the future is kept. An entry lives as long as its
// future stays in the future table: the owner calls Forget() when the table
// releases or expires it, and an entry whose future the table no longer has
// is treated as absent, so a late Forget() is harmless.
//
// Each entry remembers a fingerprint of the call (function, arguments,
// pool, timeout): a request ID reused for a different call is refused with
// ALREADY_EXISTS rather than answered with the other call's future.
//
// Bounded: request IDs are at most kMaxRequestIdSize bytes and there is at
// most one entry per future in the table. Thread-safe. StartOnce() holds
// the index's lock while it starts a future, so `start` and `find` must not
// call back into the index; they should be quick (queueing, not running).
class RequestIndex {
 public:
  static constexpr size_t kMaxRequestIdSize = 128;

  // Looks a future up by ID in the future table (NOT_FOUND when it is gone).
  using FindFn = absl::FunctionRef<absl::StatusOr<std::shared_ptr<Future>>(
      absl::string_view future_id)>;
  // Starts a new future for the request.
  using StartFn = absl::FunctionRef<absl::StatusOr<std::shared_ptr<Future>>()>;

  RequestIndex() = default;
  RequestIndex(const RequestIndex&) = delete;
  RequestIndex& operator=(const RequestIndex&) = delete;

  // INVALID_ARGUMENT for a request ID over kMaxRequestIdSize bytes. The
  // empty ID is valid: it means "not idempotent" and is never indexed.
  static absl::Status ValidateRequestId(absl::string_view request_id);

  // The future `key` started before, if `find` still has it and
  // `fingerprint` matches; ALREADY_EXISTS if it does not match. Otherwise
  // calls `start` and, if it succeeds, records its future under `key`. Two
  // concurrent calls with one key start at most one future. `key` must have
  // a valid, non-empty request ID.
  absl::StatusOr<std::shared_ptr<Future>> StartOnce(const RequestKey& key,
                                                    uint64_t fingerprint,
                                                    FindFn find, StartFn start)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Drops the entry of the future with this ID, if it has one.
  void Forget(absl::string_view future_id) ABSL_LOCKS_EXCLUDED(mu_);

  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  using Key = std::pair<std::string, std::string>;  // principal, request ID
  struct Entry {
    std::string future_id;
    uint64_t fingerprint;
  };

  mutable absl::Mutex mu_;
  absl::flat_hash_map<Key, Entry> by_key_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, Key> by_future_ ABSL_GUARDED_BY(mu_);
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_ENGINE_REQUEST_INDEX_H_
