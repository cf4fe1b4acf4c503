// The base of every reactor that waits on futures.
#ifndef FUTURED_SERVER_RPC_WAITING_REACTOR_H_
#define FUTURED_SERVER_RPC_WAITING_REACTOR_H_

#include <memory>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/support/server_callback.h"
#include "grpcpp/support/status.h"
#include "server/engine/timer_queue.h"
#include "server/future/future.h"
#include "server/rpc/waiting_calls.h"

namespace futured::server::rpc {

// What a waiting reactor needs from the service. Both outlive every reactor.
struct WaitDeps {
  WaitingCalls& calls;
  TimerQueue& timers;
};

// Base of the reactors for Result, Cancel, Wait, AsCompleted, Map, Watch and
// FollowProgress.
// `Self` derives from WaitingReactor<Self, Base>, where Base is
// grpc::ServerUnaryReactor or grpc::ServerWriteReactor<T>.
//
// Threading: every event (a watched future done, the timer, OnCancel,
// OnWriteDone, shutdown's Abort) runs Self's code under one mutex, the
// handle's, and only while the reactor is alive: futures and timers hold the
// handle, never the reactor, and OnDone detaches the handle before the
// reactor deletes itself. Never call Watch() with that mutex held.
//
// Finishing: Self calls RequestFinish(status) under the mutex, any number of
// times; the first status wins. The base calls Self::Complete(status) exactly
// once, when setup is over and Self::Busy() is false (no write in flight).
// Complete must fill the response and call Finish.
template <typename Self, typename Base>
class WaitingReactor : public Base {
 public:
  void OnCancel() override {
    handle_->With([](Self& self) {
      self.RequestFinish(
          grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled"));
    });
  }

  void OnDone() override {
    handle_->Detach();
    deps_.calls.Remove(handle_.get());
    for (auto& [future, id] : watched_) future->RemoveDoneCallback(id);
    for (auto& [future, id] : changes_) future->RemoveChangeCallback(id);
    if (timer_ != 0) deps_.timers.Cancel(timer_);
    static_cast<Self*>(this)->OnEnded();
    delete this;
  }

 protected:
  explicit WaitingReactor(WaitDeps deps) : deps_(deps) {}
  ~WaitingReactor() override = default;

  // Setup, step 1: registers the call. False when the daemon is draining;
  // the call has then been finished with UNAVAILABLE and Self must stop.
  // Call it first in Self's constructor body, where Self is an object of its
  // own type (the handle points at it).
  bool Register() {
    handle_ = std::make_shared<Handle>(static_cast<Self*>(this));
    if (deps_.calls.Add(handle_)) return true;
    finished_ = true;  // no other thread knows the reactor yet
    this->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "futured is shutting down"));
    return false;
  }

  // Setup, step 2: runs on_done(self) under the mutex once `future` is done
  // (perhaps at once, perhaps on another thread before setup ends).
  template <typename Fn>
  void Watch(const std::shared_ptr<Future>& future, Fn on_done) {
    const Future::CallbackId id = future->AddDoneCallback(
        [handle = handle_, on_done = std::move(on_done)]() mutable {
          handle->With(on_done);
        });
    if (id != 0) watched_.emplace_back(future, id);
  }

  // Setup, step 2: runs on_change(self) under the mutex on each change of
  // `future` (a start, a progress report; see Future::AddChangeCallback)
  // until the call ends. `on_change` must be copyable.
  template <typename Fn>
  void WatchChanges(const std::shared_ptr<Future>& future, Fn on_change) {
    const Future::CallbackId id = future->AddChangeCallback(
        [handle = handle_, on_change] { handle->With(on_change); });
    changes_.emplace_back(future, id);
  }

  // Like Watch(), but the callback is not removed when the call ends (it
  // then finds the reactor gone), so nothing is kept per future: for a
  // long-lived stream that follows many futures. Any time, without the mutex.
  template <typename Fn>
  void Follow(const std::shared_ptr<Future>& future, Fn on_done) {
    future->AddDoneCallback(
        [handle = handle_, on_done = std::move(on_done)]() mutable {
          handle->With(on_done);
        });
  }

  // Setup, step 2: runs on_timer(self) under the mutex at `when` (never for
  // absl::InfiniteFuture()).
  template <typename Fn>
  void StartTimer(absl::Time when, Fn on_timer) {
    if (when == absl::InfiniteFuture()) return;
    timer_ = deps_.timers.Schedule(
        when, [handle = handle_, on_timer = std::move(on_timer)]() mutable {
          handle->With(on_timer);
        });
  }

  // Setup, step 3: lets events finish the call. Calls Self::OnSetupDone().
  void EndSetup() {
    handle_->With([](Self& self) {
      self.setting_up_ = false;
      self.OnSetupDone();
      self.MaybeFinish();
    });
  }

  // Under the mutex. Asks for the call to end with `status` (first wins).
  void RequestFinish(grpc::Status status) {
    if (finish_requested_) return;
    finish_requested_ = true;
    status_ = std::move(status);
    MaybeFinish();
  }

  // Under the mutex. Finishes if asked to and nothing holds the call open.
  void MaybeFinish() {
    Self& self = *static_cast<Self*>(this);
    if (!finish_requested_ || finished_ || setting_up_ || self.Busy()) return;
    finished_ = true;
    self.Complete(status_);
  }

  // Runs fn(self) under the mutex, for gRPC reactions such as OnWriteDone.
  template <typename Fn>
  void WithLock(Fn&& fn) {
    handle_->With(std::forward<Fn>(fn));
  }

  bool finish_requested() const { return finish_requested_; }
  bool finished() const { return finished_; }  // Complete() has run
  const grpc::Status& requested_status() const { return status_; }
  bool setting_up() const { return setting_up_; }

  // Hooks Self may hide.
  void OnSetupDone() {}                // under the mutex, once setup is over
  bool Busy() const { return false; }  // true while a write is in flight
  void OnEnded() {}                    // in OnDone, no lock held, before delete

 private:
  // Shared by the reactor and every callback it registers.
  class Handle final : public WaitingCall {
   public:
    explicit Handle(Self* reactor) : reactor_(reactor) {}

    template <typename Fn>
    void With(Fn&& fn) ABSL_LOCKS_EXCLUDED(mu_) {
      absl::MutexLock lock(&mu_);
      if (reactor_ != nullptr) fn(*reactor_);
    }
    void Detach() ABSL_LOCKS_EXCLUDED(mu_) {
      absl::MutexLock lock(&mu_);
      reactor_ = nullptr;
    }
    void Abort(const grpc::Status& status) override {
      With([&status](Self& self) { self.RequestFinish(status); });
    }

   private:
    absl::Mutex mu_;
    Self* reactor_ ABSL_GUARDED_BY(mu_);
  };
  friend Handle;

  WaitDeps deps_;
  std::shared_ptr<Handle> handle_;  // set by Register()
  // Written during setup only; read in OnDone.
  std::vector<std::pair<std::shared_ptr<Future>, Future::CallbackId>> watched_;
  std::vector<std::pair<std::shared_ptr<Future>, Future::CallbackId>> changes_;
  TimerQueue::TimerId timer_ = 0;
  // Guarded by the handle's mutex once setup has begun.
  bool setting_up_ = true;
  bool finish_requested_ = false;
  bool finished_ = false;
  grpc::Status status_;
};

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_WAITING_REACTOR_H_
