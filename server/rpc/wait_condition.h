// Python's wait() conditions: FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED.
#ifndef FUTURED_SERVER_RPC_WAIT_CONDITION_H_
#define FUTURED_SERVER_RPC_WAIT_CONDITION_H_

#include <cstdint>

namespace futured::server {

enum class ReturnWhen { kFirstCompleted, kFirstException, kAllCompleted };

// Counts completions among `total` futures and says when a wait() with
// `mode` may return. Not thread-safe: the owner serializes calls.
class WaitCondition {
 public:
  WaitCondition(ReturnWhen mode, int64_t total) : mode_(mode), total_(total) {}

  // Records one future's completion; `raised` if it FINISHED with an error
  // (a cancelled future did not raise).
  void OnDone(bool raised) {
    ++done_;
    raised_ = raised_ || raised;
  }

  bool Satisfied() const {
    if (done_ >= total_) return true;  // every mode, also for no futures
    switch (mode_) {
      case ReturnWhen::kFirstCompleted:
        return done_ > 0;
      case ReturnWhen::kFirstException:
        return raised_;
      case ReturnWhen::kAllCompleted:
        return false;
    }
    return false;
  }

 private:
  const ReturnWhen mode_;
  const int64_t total_;
  int64_t done_ = 0;
  bool raised_ = false;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_RPC_WAIT_CONDITION_H_
