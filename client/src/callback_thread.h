// CallbackThread: the one thread of a Client that runs done-callbacks, so
// that user code never runs on (or blocks) gRPC's threads.
#ifndef FUTURED_CLIENT_SRC_CALLBACK_THREAD_H_
#define FUTURED_CLIENT_SRC_CALLBACK_THREAD_H_

#include <functional>
#include <memory>

namespace futured::internal {

// Runs posted tasks one at a time, in order, on a thread started by the
// first Post. Owned by a ClientCore. Post and Stop are thread-safe and never
// block on the tasks (Stop joins the thread: it blocks until the queue is
// drained, unless called from the thread itself, which is then detached and
// drains on its own). After Stop, Post runs the task at once in the caller.
class CallbackThread {
 public:
  CallbackThread();
  ~CallbackThread();  // Stop()
  CallbackThread(const CallbackThread&) = delete;
  CallbackThread& operator=(const CallbackThread&) = delete;

  void Post(std::function<void()> task);
  void Stop();

 private:
  struct Shared;  // Queue and flags; shared with the thread, which may
                  // outlive this object when detached.
  std::shared_ptr<Shared> shared_;
};

// Runs a user callback, reporting an escaping exception on stderr as Python
// logs one; never throws.
void RunUserCallback(const std::function<void()>& callback);

}  // namespace futured::internal

#endif  // FUTURED_CLIENT_SRC_CALLBACK_THREAD_H_
