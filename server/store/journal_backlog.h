// What SqliteJournal's log holds that its table of futures does not show
// yet, by future.
#ifndef FUTURED_SERVER_STORE_JOURNAL_BACKLOG_H_
#define FUTURED_SERVER_STORE_JOURNAL_BACKLOG_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/store/journal.h"
#include "server/store/journal_ops.h"

namespace futured::server {

// A change to a future's record, as Start(), Unstart(), End() and Retry()
// make it; applied to a whole future by ApplyChange() and to a row by the
// SQL statements that do the same.
struct StartChange {
  absl::Time start_time;
  int worker_pid = 0;
};
struct UnstartChange {};
struct EndChange {
  FutureState state;
  FutureEnding ending;
};
struct RetryChange {
  int attempt = 1;
  std::vector<AttemptError> earlier;
};
using RecordChange =
    std::variant<StartChange, UnstartChange, EndChange, RetryChange>;

// What the SQL statements do to a row: Start() only a PENDING future,
// Unstart() only a RUNNING one, Retry() only one not done, End() any.
void ApplyChange(const RecordChange& change, JournaledFuture& future);

// One future's records in the log, beyond its row in the table.
struct BackloggedFuture {
  // Accepted in the log: the whole future as its records leave it. Its row,
  // if an interrupted fold wrote one, is replaced.
  std::optional<JournaledFuture> whole;
  // Else: the changes to its row, in order, and whether it is deleted.
  std::vector<RecordChange> changes;
  bool forgotten = false;
  // Whole and carried forward from the generation before (see FoldSome()).
  bool carried = false;
  // Whole, and with a row too (Replay() saw one): folded by writing it.
  bool has_row = false;
};

// The records committed to the log and not yet folded into the table, in
// two generations: the newer one takes every record committed; the older
// one is being folded (written to the table a chunk at a time, each chunk
// in a transaction of the writer's), after which its log rows are deleted.
// A future accepted and forgotten within one generation never reaches the
// table: when the older generation is folded, a future it holds whole is
// carried forward once, re-logged with the records that make it what it is
// now, instead of written to the table; only what is still there a
// generation later is. Thread-safe: the writer adds and folds, FindCall()
// reads from any thread (and waits while FoldSome() writes a chunk: its
// lock is held across the chunk's statements, a few milliseconds at most,
// so that no entry changes under them).
class JournalBacklog {
 public:
  struct Options {
    // The newer generation starts folding once it has this many records or
    // is this old (and the older one is done).
    int64_t fold_records = 65536;
    absl::Duration fold_age = absl::Seconds(1);
  };

  explicit JournalBacklog(Options options) : options_(options) {}

  // Takes the records of `op`, committed in log row `row` (moves its data
  // out; its callback is left); `carried`: records a fold carried forward
  // (Chunk::carried, as Recover() reads them back).
  void Add(journal_ops::Op<>& op, int64_t row, bool carried = false)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Until Resume(), nothing is folded (the log holds rows a Recover() has
  // not read yet).
  void Hold() ABSL_LOCKS_EXCLUDED(mu_);

  // For Recover(): what the newer generation holds of a future whose row is
  // `row`: false when it is to be skipped (forgotten, or whole in the log,
  // which ForEachWhole() gives), else `row` with the changes applied.
  bool Replay(JournaledFuture& row) ABSL_LOCKS_EXCLUDED(mu_);
  // For Recover(): whether the newer generation holds anything of future
  // `id` (else its row is all there is of it).
  bool Holds(absl::string_view id) const ABSL_LOCKS_EXCLUDED(mu_);
  // For Recover(): the whole futures of the newer generation, in the order
  // they were accepted.
  void ForEachWhole(absl::FunctionRef<void(JournaledFuture&)> each)
      ABSL_LOCKS_EXCLUDED(mu_);
  // For Recover(): `replayed`'s newer generation becomes this one's older
  // generation, to be folded first, and folding resumes.
  void Resume(JournalBacklog&& replayed) ABSL_LOCKS_EXCLUDED(mu_);

  // Starts folding the newer generation if the older one is done and the
  // newer one is due (or `all`: has anything).
  void RotateIfDue(absl::Time now, bool all) ABSL_LOCKS_EXCLUDED(mu_);

  // Where a fold chunk writes a future: its ID and what the log holds.
  using Writer =
      absl::FunctionRef<absl::Status(const std::string&, BackloggedFuture&)>;
  // What FoldSome() took, for Folded() once its transaction is committed.
  struct Chunk {
    size_t taken = 0;  // positions of the older generation's order
    // Futures carried forward instead of written, as they are now (with the
    // newer generation's changes): to be logged in the chunk's transaction.
    std::vector<JournaledFuture> carried;
    // Set when the chunk ends the older generation: its log rows, to be
    // deleted in the chunk's transaction.
    std::optional<std::pair<int64_t, int64_t>> rows;
  };
  // Takes up to `max` futures of the older generation, in order: writes
  // each with `write`, or carries it forward (a whole one not carried yet);
  // on an error, stops and returns it.
  absl::StatusOr<Chunk> FoldSome(size_t max, Writer write)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The chunk's transaction is committed: drops what it wrote and takes
  // what it carried into the newer generation.
  // `row` is the log row with the carried futures' records.
  void Folded(Chunk& chunk, int64_t row) ABSL_LOCKS_EXCLUDED(mu_);

  // Whether anything is left to fold; whether the older generation is.
  bool empty() const ABSL_LOCKS_EXCLUDED(mu_);
  bool folding() const ABSL_LOCKS_EXCLUDED(mu_);

  // The call of a future accepted in the log; unset for one it does not
  // hold whole.
  std::optional<AcceptedCall> FindCall(absl::string_view id) const
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Generation {
    absl::node_hash_map<std::string, BackloggedFuture> futures;
    // The futures carried into it, in order, then those whose entry began
    // in it (pointing at the keys of `futures`), without those carried.
    std::vector<const std::string*> carried;
    std::vector<const std::string*> order;
    size_t next = 0;  // folding: the next position of carried + order
    int64_t records = 0;
    int64_t first_row = 0;  // its log rows (0: none)
    int64_t last_row = 0;
    absl::Time began = absl::InfiniteFuture();  // its first record
  };

  // Position `i` of `g`'s carried + order.
  static const std::string& IdAt(const Generation& g, size_t i);
  static size_t PositionsIn(const Generation& g) {
    return g.carried.size() + g.order.size();
  }
  // The newer generation's entry for `id`, made if missing (as carried:
  // listed with those carried).
  BackloggedFuture& EntryLocked(const std::string& id, bool carried = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Counts log row `row`, with `records`, in the newer generation.
  void AddRowLocked(int64_t row, int64_t records)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves a future carried forward into the newer generation.
  void CarryLocked(JournaledFuture future) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ChangeLocked(const std::string& id, RecordChange change)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetLocked(const std::string& id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  mutable absl::Mutex mu_;
  Generation newer_ ABSL_GUARDED_BY(mu_);
  Generation older_ ABSL_GUARDED_BY(mu_);
  bool held_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_STORE_JOURNAL_BACKLOG_H_
