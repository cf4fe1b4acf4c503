// DoneWatcher: one Watch stream per client that tells the futures with
// done-callbacks when they are done.
#ifndef FUTURED_CLIENT_SRC_DONE_WATCHER_H_
#define FUTURED_CLIENT_SRC_DONE_WATCHER_H_

#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "futured/v1/executor.grpc.pb.h"

namespace futured::internal {

class FutureProxy;
class WatchStream;

// Owned by a ClientCore. Starts a Watch stream (a ClientBidiReactor) on the
// first Watch() and keeps it open until Close(), naming each followed
// future once; when the daemon reports a future done, the proxy records it
// (posting its callbacks to the callback thread, never running user code on
// gRPC's threads). A stream that ends (daemon gone, UNIMPLEMENTED) marks its
// futures lost with its status; the next Watch() starts a new one.
// Thread-safe; Watch never blocks; Close blocks until every stream is gone.
class DoneWatcher {
 public:
  explicit DoneWatcher(v1::Executor::Stub* stub);
  ~DoneWatcher();  // Close()
  DoneWatcher(const DoneWatcher&) = delete;
  DoneWatcher& operator=(const DoneWatcher&) = delete;

  // Follows `proxy` until done. After Close(), marks it lost (CANCELLED).
  void Watch(const std::shared_ptr<FutureProxy>& proxy);

  // Cancels the stream, whose futures become lost (CANCELLED), and waits
  // until it is gone. Idempotent.
  void Close();

 private:
  friend class WatchStream;

  // Called by a stream from OnDone, last: it is deleted later, by Watch or
  // Close, outside gRPC's threads.
  void StreamGone(WatchStream* stream);
  // Deletes the streams in gone_ (outside mu_).
  void DeleteGone();

  v1::Executor::Stub* const stub_;  // Not owned; outlives this.

  absl::Mutex mu_;
  // The stream new futures go to; null or ended means start a new one.
  WatchStream* current_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Streams whose OnDone has not run yet.
  std::vector<WatchStream*> live_ ABSL_GUARDED_BY(mu_);
  // Streams whose OnDone ran, to delete outside any reaction.
  std::vector<WatchStream*> gone_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace futured::internal

#endif  // FUTURED_CLIENT_SRC_DONE_WATCHER_H_
