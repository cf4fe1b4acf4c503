// The Map call: Executor.map() as a server stream, results in input order.
#ifndef FUTURED_SERVER_RPC_MAP_REACTOR_H_
#define FUTURED_SERVER_RPC_MAP_REACTOR_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "futured/v1/executor.pb.h"
#include "server/future/future.h"
#include "server/rpc/proto_convert.h"
#include "server/rpc/streaming_reactor.h"

namespace futured::server::rpc {

// The future of a Map input that cannot be called: already FINISHED with
// the error Python's map raises at that input (TypeError for arguments that
// do not fit, PermissionError for a refused task, else ValueError; details
// {"code": the status code's name, e.g. "INVALID_ARGUMENT"}), so that it is
// reported at its position and the inputs before it are still yielded.
inline std::shared_ptr<Future> FailedMapInput(const absl::Status& status,
                                              std::string function,
                                              std::string pool,
                                              absl::Time now) {
  TaskError error;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      error.type = "TypeError";
      break;
    case absl::StatusCode::kPermissionDenied:
      error.type = "PermissionError";
      break;
    default:
      error.type = "ValueError";
      break;
  }
  error.message = std::string(status.message());
  (*error.details.mutable_struct_value()->mutable_fields())["code"]
      .set_string_value(absl::StatusCodeToString(status.code()));
  auto future =
      std::make_shared<Future>("", std::move(function), std::move(pool), now);
  future->Finish(std::move(error), now);
  return future;
}

// Streams the outcomes of `futures` (one per input, in input order) as the
// next ones in order are done; consecutive done ones share a message.
// DEADLINE_EXCEEDED at `deadline` unless all were sent. When the call ends
// for any reason, the futures not yet done are cancelled: nobody else holds
// them. Creates and deletes itself.
class MapReactor final : public StreamingReactor<MapReactor, v1::MapResponse> {
 public:
  MapReactor(WaitDeps deps, std::vector<std::shared_ptr<Future>> futures,
             absl::Time deadline)
      : StreamingReactor(deps),
        futures_(std::move(futures)),
        done_(futures_.size(), false) {
    if (!Register()) return;
    // Followed, not watched: nothing is kept per future to remove at the
    // end, when OnEnded() completes every one anyway.
    for (size_t i = 0; i < futures_.size(); ++i) {
      Follow(futures_[i], [i](MapReactor& r) {
        r.done_[i] = true;
        r.Pump();
      });
    }
    StartTimer(deadline, [](MapReactor& r) {
      r.RequestFinish(
          grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED,
                       absl::StrCat("map: ", r.futures_.size() - r.next_,
                                    " of ", r.futures_.size(),
                                    " results not sent before the timeout")));
      r.Pump();
    });
    EndSetup();
  }

 private:
  friend WaitingReactor;
  friend StreamingReactor;

  static constexpr int kMaxBatch = 256;  // items per message

  bool HasReady() const { return next_ < done_.size() && done_[next_]; }
  void FillNext(v1::MapResponse* message) {
    while (HasReady() && message->items_size() < kMaxBatch) {
      // Done, as done_[next_] says.
      const std::optional<FutureEnding> ending = futures_[next_]->Ending();
      v1::MapItem* item = message->add_items();
      item->set_index(static_cast<int64_t>(next_));
      ToProto(ending->outcome, item->mutable_outcome());
      if (ending->start_time) {
        ToProto(*ending->start_time, item->mutable_start_time());
      }
      ToProto(ending->end_time, item->mutable_end_time());
      ++next_;
    }
  }
  bool AllSent() const { return next_ == futures_.size(); }

  void OnEnded() {
    const absl::Time now = absl::Now();
    for (const auto& future : futures_) future->Cancel(now);
  }

  const std::vector<std::shared_ptr<Future>> futures_;
  // Guarded by the handle's mutex.
  std::vector<bool> done_;
  size_t next_ = 0;  // index of the next item to send
};

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_MAP_REACTOR_H_
