// The AsCompleted call: Python's as_completed() as a server stream.
#ifndef FUTURED_SERVER_RPC_AS_COMPLETED_REACTOR_H_
#define FUTURED_SERVER_RPC_AS_COMPLETED_REACTOR_H_

#include <algorithm>
#include <deque>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "futured/v1/executor.pb.h"
#include "server/future/future.h"
#include "server/rpc/proto_convert.h"
#include "server/rpc/streaming_reactor.h"

namespace futured::server::rpc {

// Streams each of `futures` (no duplicates) once it is done: those done
// before the call first, by end time, then in completion order. Futures that
// complete together go out in one message. DEADLINE_EXCEEDED at `deadline`
// unless all were done by then (those done are still sent first). Creates
// and deletes itself.
class AsCompletedReactor final
    : public StreamingReactor<AsCompletedReactor, v1::AsCompletedResponse> {
 public:
  AsCompletedReactor(WaitDeps deps,
                     std::vector<std::shared_ptr<Future>> futures,
                     absl::Time deadline)
      : AsCompletedReactor(deps) {
    if (registered()) Begin(std::move(futures), deadline);
  }

  // A reactor whose futures are found later (some on other nodes).
  explicit AsCompletedReactor(WaitDeps deps) : StreamingReactor(deps) {
    registered_ = Register();
  }

  // As FutureReactor::registered().
  bool registered() const { return registered_; }

  // Setup, once, from any thread: streams `futures` as they complete until
  // `deadline`, or ends the call with their error.
  void Begin(absl::StatusOr<std::vector<std::shared_ptr<Future>>> futures,
             absl::Time deadline) {
    if (!futures.ok()) {
      WithLock([&futures](AsCompletedReactor& r) {
        r.RequestFinish(ToGrpcStatus(futures.status()));
      });
      EndSetup();
      return;
    }
    total_ = futures->size();
    for (const auto& future : *futures) {
      Watch(future, [f = future.get()](AsCompletedReactor& r) {
        r.ready_.push_back(f->Snapshot());
        r.Pump();
      });
    }
    StartTimer(deadline, [](AsCompletedReactor& r) {
      // Every future done: only the sending is left, and the stream ends
      // OK once it is sent, as Python's as_completed raises only while
      // futures are pending.
      if (r.sent_ + r.ready_.size() == r.total_) return;
      r.RequestFinish(grpc::Status(
          grpc::StatusCode::DEADLINE_EXCEEDED,
          absl::StrCat(r.total_ - r.sent_ - r.ready_.size(), " of ", r.total_,
                       " futures not done before the timeout")));
      r.Pump();
    });
    EndSetup();
  }

 private:
  friend WaitingReactor;
  friend StreamingReactor;

  void OnSetupDone() {
    // Those done before the call, oldest first.
    std::stable_sort(ready_.begin(), ready_.end(),
                     [](const FutureSnapshot& a, const FutureSnapshot& b) {
                       return a.end_time < b.end_time;
                     });
    Pump();
  }
  bool HasReady() const { return !ready_.empty(); }
  void FillNext(v1::AsCompletedResponse* message) {
    while (!ready_.empty() && message->futures_size() < kMaxBatch) {
      ToProto(ready_.front(), message->add_futures());
      ready_.pop_front();
      ++sent_;
    }
  }
  bool AllSent() const { return sent_ == total_; }

  static constexpr int kMaxBatch = 256;  // futures per message

  bool registered_ = false;
  size_t total_ = 0;  // set by Begin(), before EndSetup()
  // Guarded by the handle's mutex.
  std::deque<FutureSnapshot> ready_;
  size_t sent_ = 0;
};

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_AS_COMPLETED_REACTOR_H_
