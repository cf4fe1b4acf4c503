#include "done_watcher.h"

#include <algorithm>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "future_proxy.h"
#include "grpcpp/grpcpp.h"
#include "rpc_status.h"

namespace futured::internal {

// IDs named in one WatchRequest, at most.
constexpr std::size_t kMaxIdsPerWrite = 256;

// One Watch call. Created and owned by a DoneWatcher; its state below is
// guarded by the watcher's mu_. A hold (AddHold at Start) keeps OnDone away
// while writes may still be started from user threads; it is removed once
// the reads have ended and no write is in flight.
class WatchStream
    : public grpc::ClientBidiReactor<v1::WatchRequest, v1::WatchResponse> {
 public:
  explicit WatchStream(DoneWatcher* watcher) : watcher_(watcher) {}

  // Follows `proxy` on this stream. Requires watcher_->mu_.
  void AddLocked(const std::shared_ptr<FutureProxy>& proxy) {
    auto& proxies = waiting_[proxy->id()];
    if (proxies.empty()) unsent_.push_back(proxy->id());
    proxies.push_back(proxy);
  }
  // True once the reads have ended: new futures need a new stream.
  bool ended_locked() const { return ended_; }

  // Creates the call and takes the hold. Requires watcher_->mu_; makes no
  // reaction run.
  void BindLocked(v1::Executor::Stub* stub) {
    stub->async()->Watch(&context_, this);
    AddHold();
  }
  // Starts the call and its first read.
  void Start() {
    StartRead(&response_);
    StartCall();
  }

  // Moves IDs not sent yet into request_ unless a write is in flight; true
  // if the caller must then call StartWrite(&request_) (outside the lock).
  // While that write is in flight the hold stays, so the stream lives.
  bool PrepareWriteLocked() {
    if (write_in_flight_ || ended_ || unsent_.empty()) return false;
    request_.Clear();
    const std::size_t n = std::min(unsent_.size(), kMaxIdsPerWrite);
    for (std::size_t i = 0; i < n; ++i) request_.add_ids(unsent_[i]);
    unsent_.erase(unsent_.begin(), unsent_.begin() + n);
    write_in_flight_ = true;
    return true;
  }
  void StartPreparedWrite() { StartWrite(&request_); }

  void Cancel() { context_.TryCancel(); }

  void OnWriteDone(bool ok) override {
    bool remove_hold;
    {
      absl::MutexLock lock(&watcher_->mu_);
      write_in_flight_ = false;
      remove_hold = ReleaseHoldLocked();
    }
    if (remove_hold) {
      RemoveHold();
      return;
    }
    bool write = false;
    if (ok) {
      absl::MutexLock lock(&watcher_->mu_);
      write = PrepareWriteLocked();
    }
    if (write) StartPreparedWrite();
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      bool remove_hold;
      {
        absl::MutexLock lock(&watcher_->mu_);
        ended_ = true;
        if (watcher_->current_ == this) watcher_->current_ = nullptr;
        remove_hold = ReleaseHoldLocked();
      }
      if (remove_hold) RemoveHold();
      return;
    }
    for (const v1::FutureInfo& info : response_.futures()) {
      for (const auto& proxy : TakeWaiting(info.id())) proxy->Record(info);
    }
    for (const v1::WatchError& error : response_.errors()) {
      absl::Status status(static_cast<absl::StatusCode>(error.code()),
                          error.message());
      for (const auto& proxy : TakeWaiting(error.id())) {
        proxy->RecordLost(status);
      }
    }
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    absl::Status lost = ToAbslStatus(status);
    if (lost.ok()) lost = absl::UnavailableError("watch stream ended");
    std::unordered_map<std::string, std::vector<std::shared_ptr<FutureProxy>>>
        waiting;
    {
      absl::MutexLock lock(&watcher_->mu_);
      waiting.swap(waiting_);
    }
    for (const auto& [id, proxies] : waiting) {
      for (const auto& proxy : proxies) proxy->RecordLost(lost);
    }
    waiting.clear();
    watcher_->StreamGone(this);  // Last: the watcher may delete us now.
  }

 private:
  std::vector<std::shared_ptr<FutureProxy>> TakeWaiting(const std::string& id) {
    absl::MutexLock lock(&watcher_->mu_);
    auto it = waiting_.find(id);
    if (it == waiting_.end()) return {};
    std::vector<std::shared_ptr<FutureProxy>> proxies = std::move(it->second);
    waiting_.erase(it);
    return proxies;
  }

  // True exactly once: when the reads have ended and no write is in flight.
  bool ReleaseHoldLocked() {
    if (!ended_ || write_in_flight_ || hold_released_) return false;
    hold_released_ = true;
    return true;
  }

  DoneWatcher* const watcher_;
  grpc::ClientContext context_;
  v1::WatchRequest request_;    // The write in flight.
  v1::WatchResponse response_;  // The read in flight.

  // Guarded by watcher_->mu_.
  std::unordered_map<std::string, std::vector<std::shared_ptr<FutureProxy>>>
      waiting_;
  std::vector<std::string> unsent_;
  bool write_in_flight_ = false;
  bool ended_ = false;
  bool hold_released_ = false;
};

DoneWatcher::DoneWatcher(v1::Executor::Stub* stub) : stub_(stub) {}

DoneWatcher::~DoneWatcher() { Close(); }

void DoneWatcher::Watch(const std::shared_ptr<FutureProxy>& proxy) {
  DeleteGone();
  WatchStream* stream = nullptr;
  bool start = false;
  bool write = false;
  {
    absl::MutexLock lock(&mu_);
    if (!closed_) {
      if (current_ == nullptr || current_->ended_locked()) {
        current_ = new WatchStream(this);
        current_->BindLocked(stub_);
        live_.push_back(current_);
        start = true;
      }
      stream = current_;
      stream->AddLocked(proxy);
      write = stream->PrepareWriteLocked();
    }
  }
  if (stream == nullptr) {
    proxy->RecordLost(absl::CancelledError("the client is closed"));
    return;
  }
  // The stream cannot be gone here: unstarted, or held by the write.
  if (start) stream->Start();
  if (write) stream->StartPreparedWrite();
}

void DoneWatcher::StreamGone(WatchStream* stream) {
  absl::MutexLock lock(&mu_);
  live_.erase(std::find(live_.begin(), live_.end(), stream));
  if (current_ == stream) current_ = nullptr;
  gone_.push_back(stream);
}

void DoneWatcher::DeleteGone() {
  std::vector<WatchStream*> gone;
  {
    absl::MutexLock lock(&mu_);
    gone.swap(gone_);
  }
  // Gone streams are out of live_, so Close() cannot be cancelling them.
  for (WatchStream* stream : gone) delete stream;
}

void DoneWatcher::Close() {
  std::vector<WatchStream*> live;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    current_ = nullptr;
    live = live_;
  }
  // Only streams in gone_ are ever deleted, so these stay valid.
  for (WatchStream* stream : live) stream->Cancel();
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](std::vector<WatchStream*>* l) { return l->empty(); }, &live_));
  }
  DeleteGone();
}

}  // namespace futured::internal
