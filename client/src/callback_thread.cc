#include "callback_thread.h"

#include <deque>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace futured::internal {

struct CallbackThread::Shared {
  absl::Mutex mu;
  std::deque<std::function<void()>> queue ABSL_GUARDED_BY(mu);
  bool stopping ABSL_GUARDED_BY(mu) = false;
  std::thread thread ABSL_GUARDED_BY(mu);

  // The thread's loop: runs tasks until stopping and the queue is empty.
  static void Run(std::shared_ptr<Shared> shared) {
    while (true) {
      std::function<void()> task;
      {
        absl::MutexLock lock(&shared->mu);
        shared->mu.Await(absl::Condition(
            +[](Shared* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu) {
              return s->stopping || !s->queue.empty();
            },
            shared.get()));
        if (shared->queue.empty()) return;  // stopping, drained
        task = std::move(shared->queue.front());
        shared->queue.pop_front();
      }
      task();
    }
  }
};

CallbackThread::CallbackThread() : shared_(std::make_shared<Shared>()) {}

CallbackThread::~CallbackThread() { Stop(); }

void CallbackThread::Post(std::function<void()> task) {
  {
    absl::MutexLock lock(&shared_->mu);
    if (!shared_->stopping) {
      if (!shared_->thread.joinable()) {
        shared_->thread = std::thread(&Shared::Run, shared_);
      }
      shared_->queue.push_back(std::move(task));
      return;
    }
  }
  task();
}

void CallbackThread::Stop() {
  std::thread thread;
  {
    absl::MutexLock lock(&shared_->mu);
    shared_->stopping = true;
    thread = std::move(shared_->thread);
  }
  if (!thread.joinable()) return;
  if (thread.get_id() == std::this_thread::get_id()) {
    thread.detach();  // It drains the queue and ends on its own.
  } else {
    thread.join();
  }
}

void RunUserCallback(const std::function<void()>& callback) {
  try {
    callback();
  } catch (const std::exception& e) {
    std::cerr << "futured: exception in a done-callback: " << e.what()
              << std::endl;
  } catch (...) {
    std::cerr << "futured: exception in a done-callback" << std::endl;
  }
}

}  // namespace futured::internal
