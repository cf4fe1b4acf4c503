// What the nodes of a cluster tell each other through PostgreSQL, besides
// what the journal holds: which futures ended, and requests to the node that
// owns a future (cancel it, release it) with their answers.
#ifndef FUTURED_SERVER_STORE_POSTGRES_BUS_H_
#define FUTURED_SERVER_STORE_POSTGRES_BUS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/os/unique_fd.h"
#include "server/store/journal.h"
#include "server/store/postgres_connection.h"

namespace futured::server {

// A node's line to the others, on its own connection (LISTEN) and its own
// thread, which sleeps in poll() on that connection's socket and an
// eventfd, so that a waiting node holds no thread per waiter.
//
// Ends. The journal's transaction that records ends also sends, on channel
// futured_ended, the IDs it ended (EndedPayloads()): one notification per
// committed batch (or per ~200 ends of a larger one), delivered when it
// commits. The bus hands each to
// `ended`; and every `poll` (the fallback for a notification missed while
// the connection was down) it calls `ended` with no IDs: "any may have".
//
// Requests. Send() writes a request row for the future's owner and
// notifies it (channel futured_requests, payload: the owner's name). The
// owner's bus takes the rows for futures it holds (FOR UPDATE SKIP LOCKED),
// asks `serve`, writes the answers into the rows and notifies the requester
// (futured_answers), whose bus takes its answered rows and calls back. Every
// `poll` each bus also looks for requests and answers without a
// notification (a future adopted by another node since the request: its new
// owner answers). A request unanswered after `request_timeout` fails with
// UNAVAILABLE. Every `poll` a bus also deletes the rows nobody will read:
// its own answered ones it no longer waits for (given up on, or from before
// a restart), and any node's whose lease lapsed more than a
// `request_timeout` ago (an asker that died).
//
// Thread-safe; Read() and Send() never block. Callbacks run on the bus's
// thread and must be quick; `serve` runs inside the transaction that
// answers. Close() (the destructor too) stops the thread, failing what is
// still queued or unanswered with UNAVAILABLE.
class PostgresBus {
 public:
  struct Options {
    std::string conninfo = {};
    std::string password = {};
    std::string node = {};  // this node's name
    // How often to look without a notification (the fallback).
    absl::Duration poll = absl::Seconds(5);
    absl::Duration request_timeout = absl::Seconds(30);
  };

  // What a request asks of a future's owner.
  enum class RequestKind { kCancel = 0, kCancelIfPending = 1, kRelease = 2 };
  struct Request {
    std::string future_id;
    std::string principal;
    RequestKind kind = RequestKind::kCancel;
  };
  // The owner's answer: for a cancel, the CancelAction's number; for a
  // release, the futures released; or the error.
  using Answered = absl::AnyInvocable<void(absl::StatusOr<int64_t>) &&>;
  using Serve = std::function<absl::StatusOr<int64_t>(const Request&)>;
  // IDs of futures that ended on some node; empty: any may have.
  using Ended = std::function<void(const std::vector<std::string>& ids)>;

  // A future as the journal has it, and the node that holds it.
  struct Located {
    std::string node;
    JournaledFuture future;
  };
  using Found = absl::AnyInvocable<void(absl::StatusOr<std::vector<Located>>)>;

  // The channel of ends, and the payloads for a committed batch of ends:
  // their IDs, as few notifications as PostgreSQL's payload limit (8,000
  // bytes) allows (about 200 IDs each), sent by one statement.
  static constexpr char kEndedChannel[] = "futured_ended";
  static std::vector<PgParam> EndedPayloads(
      const std::vector<std::string>& ids);

  // Connects (the schema must exist: PostgresJournal::Open() first) and
  // listens. The thread starts with Start().
  static absl::StatusOr<std::unique_ptr<PostgresBus>> Open(Options options);
  ~PostgresBus();
  PostgresBus(const PostgresBus&) = delete;
  PostgresBus& operator=(const PostgresBus&) = delete;

  // Starts the thread, which from then on calls `ended` and `serve`. Once.
  void Start(Ended ended, Serve serve);

  // The futures `ids` that exist (on any node), read in one query with the
  // other reads queued; `found` gets them (any order) or the error.
  void Read(std::vector<std::string> ids, Found found) ABSL_LOCKS_EXCLUDED(mu_);
  // Sends `request` to node `owner`; `answered` gets its answer.
  void Send(std::string owner, Request request, Answered answered)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Notifications of ends handed to `ended`, for tests and stats.
  int64_t ended_notifications() const ABSL_LOCKS_EXCLUDED(mu_);

  void Close() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct ReadOp {
    std::vector<std::string> ids;
    Found found;
  };
  struct SendOp {
    std::string owner;
    Request request;
    Answered answered;
  };
  struct Unanswered {
    Answered answered;
    absl::Time give_up;
  };
  // What one turn of the loop has to do.
  struct Turn {
    std::vector<ReadOp> reads;
    std::vector<SendOp> sends;
    bool closing = false;
  };

  PostgresBus(Options options, std::unique_ptr<PgConnection> connection,
              UniqueFd wake);

  void Loop();
  // Sleeps until the connection has input (if `connected`), Wake() or
  // `until`; then takes what is queued.
  Turn Next(absl::Time until, bool connected) ABSL_LOCKS_EXCLUDED(mu_);
  void Wake() const;
  // Reconnects and listens again if the connection broke; true if it did
  // (then notifications may have been missed).
  absl::StatusOr<bool> EnsureListening();
  void DoReads(std::vector<ReadOp>& reads);
  void DoSends(std::vector<SendOp>& sends);
  // Answers the requests for this node's futures.
  absl::Status ServeRequests();
  // Takes this node's answered requests and calls back.
  absl::Status TakeAnswers();
  // Fails the requests unanswered past their time (and forgets their rows).
  void GiveUpOnLate(absl::Time now);
  // Deletes the request rows nobody will read (see the class comment).
  void SweepRequests();
  void FailAll(const absl::Status& status);

  const Options options_;
  const std::unique_ptr<PgConnection> connection_;  // the thread's
  const UniqueFd wake_;                             // an eventfd
  Ended ended_;  // set by Start() before the thread starts
  Serve serve_;
  std::map<int64_t, Unanswered> unanswered_;  // by request seq; the thread's

  mutable absl::Mutex mu_;
  std::vector<ReadOp> reads_ ABSL_GUARDED_BY(mu_);
  std::vector<SendOp> sends_ ABSL_GUARDED_BY(mu_);
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  int64_t ended_notifications_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_STORE_POSTGRES_BUS_H_
