// The soak test's load: client threads that submit, wait, cancel, time out
// and crash tasks at random in both pools, and a fault injector that
// SIGKILLs process-pool workers while they run tasks. What they saw is kept
// in a Tally, checked against the daemon's own counts at the end.
#ifndef FUTURED_TESTS_SOAK_SOAK_WORKLOAD_H_
#define FUTURED_TESTS_SOAK_SOAK_WORKLOAD_H_

#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "futured/v1/executor.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace futured::soak {

// How a future ended, as the daemon counts it (GetStats' FunctionStats).
enum class Ending { kFinished = 0, kFailed = 1, kCancelled = 2 };

// What the clients saw. Thread-safe.
class Tally {
 public:
  // One future of `function` ended so; `label` (e.g. "cancel/process
  // CANCELLED") counts it for the report.
  void Ended(const std::string& function, Ending ending,
             const std::string& label) ABSL_LOCKS_EXCLUDED(mu_);
  // A check failed: the soak test fails, with this message.
  void Violation(const std::string& what) ABSL_LOCKS_EXCLUDED(mu_);

  std::map<std::string, std::array<int64_t, 3>> by_function() const
      ABSL_LOCKS_EXCLUDED(mu_);
  std::map<std::string, int64_t> by_label() const ABSL_LOCKS_EXCLUDED(mu_);
  std::vector<std::string> violations() const ABSL_LOCKS_EXCLUDED(mu_);
  int64_t futures() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  mutable absl::Mutex mu_;
  std::map<std::string, std::array<int64_t, 3>> by_function_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, int64_t> by_label_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> violations_ ABSL_GUARDED_BY(mu_);
  int64_t futures_ ABSL_GUARDED_BY(mu_) = 0;
};

// Process-pool futures running tasks that may be killed. Thread-safe.
class KillTargets {
 public:
  void Add(const std::string& id) ABSL_LOCKS_EXCLUDED(mu_);
  void Remove(const std::string& id) ABSL_LOCKS_EXCLUDED(mu_);
  // A random one, or "" if none.
  std::string Pick(std::mt19937_64& rng) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Mutex mu_;
  std::vector<std::string> ids_ ABSL_GUARDED_BY(mu_);
};

// One client: a stub of its own (its own channel) and a random sequence of
// operations, each waited on to its end and checked. Used by one thread.
class SoakClient {
 public:
  SoakClient(std::shared_ptr<grpc::Channel> channel, Tally* tally,
             KillTargets* targets, uint64_t seed);
  // One random operation, to its end.
  void RunOne();

 private:
  using FutureInfo = futured::v1::FutureInfo;

  void Quick(const std::string& pool);
  void Fail(const std::string& pool);
  void CancelOne(const std::string& pool);
  void TimeOut(const std::string& pool);
  void Crash(const std::string& pool);
  void Killable();
  void MapSome(const std::string& pool);
  void RunEcho(const std::string& pool);
  void Batch(const std::string& pool);
  void Retry(const std::string& pool);

  // Submit; "" (and a violation unless `may_fail`) if refused.
  std::string Submit(const futured::v1::SubmitRequest& request);
  // Result, waited to the end; checks that it is done and that a second
  // look (GetFuture) shows the same final state. Counts it under `op`.
  // False (a violation recorded) if no final answer came.
  bool Await(const std::string& id, const std::string& op, FutureInfo* info);
  // Counts a done future and checks its ending is one of `allowed`
  // ("FINISHED", "CANCELLED" or an error type).
  void Check(const FutureInfo& info, const std::string& op,
             const std::vector<std::string>& allowed);

  std::unique_ptr<futured::v1::Executor::Stub> stub_;
  Tally* const tally_;
  KillTargets* const targets_;
  std::mt19937_64 rng_;
  int64_t counter_ = 0;
  const uint64_t seed_;
};

// SIGKILLs the worker of a random running kill target, if it is still a
// child of `daemon`; true if it sent the signal.
bool KillOneWorker(futured::v1::Executor::Stub& stub, KillTargets& targets,
                   pid_t daemon, std::mt19937_64& rng);

}  // namespace futured::soak

#endif  // FUTURED_TESTS_SOAK_SOAK_WORKLOAD_H_
