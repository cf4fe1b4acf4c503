// The base of the streaming reactors: one write in flight, batches of ready
// items.
#ifndef FUTURED_SERVER_RPC_STREAMING_REACTOR_H_
#define FUTURED_SERVER_RPC_STREAMING_REACTOR_H_

#include "grpcpp/support/server_callback.h"
#include "server/rpc/waiting_reactor.h"

namespace futured::server::rpc {

// A WaitingReactor for a server stream of `Response` (GrpcReactor is
// grpc::ServerWriteReactor<Response>, or a ServerBidiReactor). Self provides,
// all called under the mutex:
//   bool HasReady() const             // an item is ready to be written
//   void FillNext(Response* message)  // moves ready items into `message`
//   bool AllSent() const              // every item has been written
// and calls Pump() whenever items may have become ready or a finish was
// requested. One message is in flight at a time; the stream ends OK once
// AllSent(). On DEADLINE_EXCEEDED the ready items are still written before
// the status; on any other error (cancel, shutdown, a failed write) they
// are dropped.
template <typename Self, typename Response,
          typename GrpcReactor = grpc::ServerWriteReactor<Response>>
class StreamingReactor : public WaitingReactor<Self, GrpcReactor> {
  using Base = WaitingReactor<Self, GrpcReactor>;

 public:
  void OnWriteDone(bool ok) override {
    this->WithLock([ok](Self& self) {
      self.writing_ = false;
      if (!ok) {
        self.broken_ = true;
        self.RequestFinish(
            grpc::Status(grpc::StatusCode::CANCELLED, "stream write failed"));
      }
      self.Pump();
    });
  }

 protected:
  using Base::Base;

  // Starts the next write if one may go, else finishes when it may.
  void Pump() {
    Self& self = *static_cast<Self*>(this);
    // Nothing may be written once Finish has been called: a future can
    // complete after that and before OnDone.
    if (this->setting_up() || writing_ || this->finished()) return;
    if (MayWrite() && self.HasReady()) {
      message_.Clear();
      self.FillNext(&message_);
      writing_ = true;
      this->StartWrite(&message_);
      return;
    }
    if (self.AllSent()) this->RequestFinish(grpc::Status::OK);
    this->MaybeFinish();
  }

  void OnSetupDone() { Pump(); }

  // True while a write is in flight or one may still go; Self may hide it
  // to hold the stream open for more.
  bool Busy() const {
    return writing_ ||
           (MayWrite() && static_cast<const Self*>(this)->HasReady());
  }

 private:
  friend Base;

  bool MayWrite() const {
    return !broken_ && (!this->finish_requested() ||
                        this->requested_status().error_code() ==
                            grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  void Complete(const grpc::Status& status) { this->Finish(status); }

  Response message_;  // the message in flight; kept until OnWriteDone
  bool writing_ = false;
  bool broken_ = false;
};

}  // namespace futured::server::rpc

#endif  // FUTURED_SERVER_RPC_STREAMING_REACTOR_H_
