#include "bench/workloads.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/proc_sample.h"
#include "futured/v1/executor.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "tests/integration/async_result_calls.h"

namespace futured::bench {
namespace {

// A batch of no-op calls: echo(first), echo(first + 1), ...
std::vector<Call> EchoCalls(int64_t first, int64_t count) {
  std::vector<Call> calls;
  calls.reserve(count);
  for (int64_t i = first; i < first + count; ++i) {
    calls.push_back(std::move(Call("echo").arg(i)));
  }
  return calls;
}

// Runs `body`, turning the library's exceptions into a status.
template <class Body>
absl::StatusOr<Figures> Guarded(Body body) {
  try {
    return body();
  } catch (const RpcError& e) {
    return e.status();
  } catch (const Error& e) {
    return absl::InternalError(e.what());
  }
}

// Submitted futures of one batch and when the batch went out.
struct Batch {
  absl::Time submitted;
  std::vector<Future<>> futures = {};
};

// Collects a batch: every result, each task's latency (submit of its batch
// to its result arriving) and then releases the futures on the daemon.
absl::Status Collect(const Daemon& d, Batch& batch, Figures& figures) {
  std::vector<std::string> ids;
  ids.reserve(batch.futures.size());
  for (const Future<>& f : as_completed(batch.futures)) {
    (void)f.result();
    figures.latencies.Add(absl::Now() - batch.submitted);
    ids.push_back(f.id());
  }
  d.client->release(ids);
  return absl::OkStatus();
}

// Batches submitted and not yet collected, handed from the submitting
// thread to the collecting one; at most `window` at once.
class BatchQueue {
 public:
  explicit BatchQueue(int64_t window) : window_(window) {}

  // Blocks while `window` batches wait.
  void Push(Batch batch) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &BatchQueue::HasRoom));
    batches_.push_back(std::move(batch));
  }
  // The oldest batch; nullopt once Close()d and empty.
  std::optional<Batch> Pop() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &BatchQueue::HasBatchOrClosed));
    if (batches_.empty()) return std::nullopt;
    Batch batch = std::move(batches_.front());
    batches_.pop_front();
    return batch;
  }
  void Close() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    closed_ = true;
  }

 private:
  bool HasRoom() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return static_cast<int64_t>(batches_.size()) < window_;
  }
  bool HasBatchOrClosed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || !batches_.empty();
  }

  const int64_t window_;
  absl::Mutex mu_;
  std::deque<Batch> batches_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

absl::StatusOr<Figures> Pipelined(const Daemon& d, const std::string& pool,
                                  const Sizes& sizes) {
  return Guarded([&]() -> absl::StatusOr<Figures> {
    Figures figures{.workload = absl::StrCat(pool, ".pipelined")};
    Executor executor = d.client->executor(pool);
    BatchQueue queue(sizes.window);
    absl::Status submit_status;
    const absl::Time start = absl::Now();
    // One thread submits batches while this one collects the oldest.
    std::thread submitter([&] {
      try {
        for (int64_t first = 0; first < sizes.pipelined; first += sizes.batch) {
          const int64_t n = std::min(sizes.batch, sizes.pipelined - first);
          Batch batch{.submitted = absl::Now()};
          batch.futures = executor.submit_batch(EchoCalls(first, n));
          queue.Push(std::move(batch));
        }
      } catch (const Error& e) {
        submit_status = absl::UnavailableError(e.what());
      }
      queue.Close();
    });
    absl::Status collected;
    int64_t count = 0;
    while (std::optional<Batch> batch = queue.Pop()) {
      if (collected.ok()) collected = Collect(d, *batch, figures);
      count += static_cast<int64_t>(batch->futures.size());
    }
    submitter.join();
    if (!submit_status.ok()) return submit_status;
    if (!collected.ok()) return collected;
    figures.seconds = absl::ToDoubleSeconds(absl::Now() - start);
    figures.count = count;
    return figures;
  });
}

absl::StatusOr<Figures> OneRpcPerTask(const Daemon& d, const std::string& pool,
                                      const Sizes& sizes) {
  return Guarded([&]() -> absl::StatusOr<Figures> {
    Figures figures{.workload = absl::StrCat(pool, ".one_rpc_per_task")};
    Executor executor = d.client->executor(pool);
    const int threads = sizes.one_rpc_threads;
    const int64_t per_thread = sizes.one_rpc / threads;
    std::vector<std::vector<Future<>>> futures(threads);
    std::vector<Latencies> submit_latencies(threads);
    std::atomic<bool> failed = false;
    const absl::Time start = absl::Now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        try {
          for (int64_t i = 0; i < per_thread; ++i) {
            const absl::Time before = absl::Now();
            futures[t].push_back(executor.submit("echo", i));
            submit_latencies[t].Add(absl::Now() - before);
          }
        } catch (const Error&) {
          failed = true;
        }
      });
    }
    for (std::thread& w : workers) w.join();
    if (failed) return absl::UnavailableError("a Submit call failed");
    for (auto& some : futures) {
      for (const Future<>& f : as_completed(some)) (void)f.result();
    }
    figures.seconds = absl::ToDoubleSeconds(absl::Now() - start);
    figures.count = per_thread * threads;
    // Latency here is of the Submit call alone.
    for (const Latencies& l : submit_latencies) figures.latencies.Merge(l);
    return figures;
  });
}

absl::StatusOr<Figures> SubmitToStart(const Daemon& d, const std::string& pool,
                                      const Sizes& sizes) {
  return Guarded([&]() -> absl::StatusOr<Figures> {
    Figures figures{.workload = absl::StrCat(pool, ".submit_to_start")};
    Executor executor = d.client->executor(pool);
    for (int i = 0; i < 200; ++i) (void)executor.submit("echo", i).result();
    Latencies daemon_side;
    const absl::Time start = absl::Now();
    for (int64_t i = 0; i < sizes.sync; ++i) {
      const absl::Time before = absl::Now();
      Future<> future = executor.submit("echo", i);
      (void)future.result();
      const FutureInfo info = future.info();
      if (!info.start_time || !info.submit_time) {
        return absl::InternalError("a done future without its times");
      }
      // The client's send to the daemon's start (one machine, one clock).
      figures.latencies.Add(*info.start_time - before);
      daemon_side.Add(*info.start_time - *info.submit_time);
    }
    figures.seconds = absl::ToDoubleSeconds(absl::Now() - start);
    figures.count = sizes.sync;
    figures.extra.emplace_back("daemon_submit_to_start_p50_us",
                               daemon_side.Percentile(50));
    return figures;
  });
}

absl::StatusOr<Figures> SyncRoundTrip(const Daemon& d, const std::string& pool,
                                      const Sizes& sizes) {
  return Guarded([&]() -> absl::StatusOr<Figures> {
    Figures figures{.workload = absl::StrCat(pool, ".sync_submit_result")};
    Executor executor = d.client->executor(pool);
    for (int i = 0; i < 200; ++i) (void)executor.submit("echo", i).result();
    const absl::Time start = absl::Now();
    for (int64_t i = 0; i < sizes.sync; ++i) {
      const absl::Time before = absl::Now();
      (void)executor.submit("echo", i).result();
      figures.latencies.Add(absl::Now() - before);
    }
    figures.seconds = absl::ToDoubleSeconds(absl::Now() - start);
    figures.count = sizes.sync;
    return figures;
  });
}

absl::StatusOr<Figures> SyncRun(const Daemon& d, const std::string& pool,
                                const Sizes& sizes) {
  return Guarded([&]() -> absl::StatusOr<Figures> {
    Figures figures{.workload = absl::StrCat(pool, ".sync_run")};
    Executor executor = d.client->executor(pool);
    for (int i = 0; i < 200; ++i) (void)executor.run("echo", i);
    const absl::Time start = absl::Now();
    for (int64_t i = 0; i < sizes.sync; ++i) {
      const absl::Time before = absl::Now();
      (void)executor.run("echo", i);
      figures.latencies.Add(absl::Now() - before);
    }
    figures.seconds = absl::ToDoubleSeconds(absl::Now() - start);
    figures.count = sizes.sync;
    return figures;
  });
}

absl::StatusOr<Figures> SyncMapOfOne(const Daemon& d, const std::string& pool,
                                     const Sizes& sizes) {
  return Guarded([&]() -> absl::StatusOr<Figures> {
    Figures figures{.workload = absl::StrCat(pool, ".sync_map_of_one")};
    Executor executor = d.client->executor(pool);
    const std::vector<int64_t> one = {1};
    for (int i = 0; i < 200; ++i) {
      for (const Value& v : executor.map("echo", one)) (void)v;
    }
    const absl::Time start = absl::Now();
    for (int64_t i = 0; i < sizes.sync; ++i) {
      const absl::Time before = absl::Now();
      for (const Value& v : executor.map("echo", one)) (void)v;
      figures.latencies.Add(absl::Now() - before);
    }
    figures.seconds = absl::ToDoubleSeconds(absl::Now() - start);
    figures.count = sizes.sync;
    return figures;
  });
}

absl::StatusOr<Figures> Map(const Daemon& d, const std::string& pool,
                            const Sizes& sizes) {
  return Guarded([&]() -> absl::StatusOr<Figures> {
    Figures figures{.workload = absl::StrCat(pool, ".map")};
    Executor executor = d.client->executor(pool);
    std::vector<int64_t> inputs(sizes.map);
    for (int64_t i = 0; i < sizes.map; ++i) inputs[i] = i;
    int64_t n = 0;
    const absl::Time start = absl::Now();
    for (int64_t v : executor.map<int64_t>(
             "echo", inputs,
             {.buffersize = static_cast<std::size_t>(sizes.map_buffersize)})) {
      if (v != n++) return absl::InternalError("map out of order");
    }
    figures.seconds = absl::ToDoubleSeconds(absl::Now() - start);
    figures.count = n;
    return figures;
  });
}

absl::StatusOr<Figures> AsCompleted(const Daemon& d, const std::string& pool,
                                    const Sizes& sizes) {
  return Guarded([&]() -> absl::StatusOr<Figures> {
    Figures figures{.workload = absl::StrCat(pool, ".as_completed")};
    Executor executor = d.client->executor(pool);
    std::vector<Future<>> futures;
    futures.reserve(sizes.as_completed);
    for (int64_t first = 0; first < sizes.as_completed; first += sizes.batch) {
      const int64_t n = std::min(sizes.batch, sizes.as_completed - first);
      for (Future<>& f : executor.submit_batch(EchoCalls(first, n))) {
        futures.push_back(std::move(f));
      }
    }
    // Timed: from the call to the last future streamed back.
    const absl::Time start = absl::Now();
    int64_t n = 0;
    for (const Future<>& f : as_completed(futures)) {
      (void)f;
      ++n;
    }
    figures.seconds = absl::ToDoubleSeconds(absl::Now() - start);
    figures.count = n;
    std::vector<std::string> ids;
    for (const Future<>& f : futures) ids.push_back(f.id());
    for (std::size_t i = 0; i < ids.size(); i += 10000) {
      d.client->release(std::vector<std::string>(
          ids.begin() + i, ids.begin() + std::min(ids.size(), i + 10000)));
    }
    return figures;
  });
}

absl::StatusOr<Figures> Waiters(const Daemon& d, const std::string& pool,
                                const Sizes& sizes) {
  return Guarded([&]() -> absl::StatusOr<Figures> {
    Figures figures{.workload = absl::StrCat(pool, ".result_waiters")};
    const ProcSample before = ProcSample::Read(d.pid);
    constexpr double kSleep = 3.0;
    Future<double> sleeper =
        d.client->submit<double>(Call("sleep").arg(kSleep), pool);
    auto channel =
        grpc::CreateChannel(d.address, grpc::InsecureChannelCredentials());
    auto stub = v1::Executor::NewStub(channel);
    const absl::Time start = absl::Now();
    auto calls = std::make_unique<testing::AsyncResultCalls>(
        *stub, sleeper.id(), static_cast<int>(sizes.waiters));
    // While they wait: poll the daemon's threads until the sleep ends.
    int most_threads = 0;
    while (!sleeper.done()) {
      most_threads = std::max(most_threads, ProcSample::Read(d.pid).threads);
      absl::SleepFor(absl::Milliseconds(100));
    }
    if (!calls->WaitAll(absl::Seconds(120))) {
      return absl::DeadlineExceededError("Result waiters did not all end");
    }
    int ok = 0;
    for (const auto& call : calls->calls()) ok += call.status.ok() ? 1 : 0;
    figures.seconds = absl::ToDoubleSeconds(absl::Now() - start);
    figures.count = sizes.waiters;
    figures.extra = {{"threads_before", before.threads},
                     {"threads_most_while_waiting", most_threads},
                     {"waiters_answered_ok", ok}};
    return figures;
  });
}

absl::StatusOr<Figures> Sleeps(const Daemon& d, const std::string& pool,
                               const Sizes& sizes) {
  return Guarded([&]() -> absl::StatusOr<Figures> {
    Figures figures{.workload = absl::StrCat(pool, ".sleeps_100x0.1s")};
    Executor executor = d.client->executor(pool);
    std::vector<Call> calls(100, Call("sleep"));
    for (Call& call : calls) call.arg(0.1);
    const absl::Time start = absl::Now();
    for (const Future<>& f : executor.submit_batch(calls)) (void)f.result();
    figures.seconds = absl::ToDoubleSeconds(absl::Now() - start);
    figures.count = static_cast<int64_t>(calls.size());
    return figures;
  });
}

absl::StatusOr<Figures> Factorials(const Daemon& d, const std::string& pool,
                                   const Sizes& sizes) {
  return Guarded([&]() -> absl::StatusOr<Figures> {
    // CPU-bound: the process pool, whatever `pool` says.
    Figures figures{.workload = "process.factorials"};
    Executor executor = d.client->executor("process");
    const std::vector<int> numbers = {100000, 110000, 120000, 130000};
    const absl::Time start = absl::Now();
    for (const std::string& digits :
         executor.map<std::string>("factorial", numbers)) {
      if (digits.empty()) return absl::InternalError("empty factorial");
    }
    figures.seconds = absl::ToDoubleSeconds(absl::Now() - start);
    figures.count = static_cast<int64_t>(numbers.size());
    return figures;
  });
}

absl::StatusOr<Figures> RetainedMemory(const Daemon& d, const std::string& pool,
                                       const Sizes& sizes) {
  return Guarded([&]() -> absl::StatusOr<Figures> {
    Figures figures{.workload = absl::StrCat(pool, ".retained_futures")};
    Executor executor = d.client->executor(pool);
    const ProcSample before = ProcSample::Read(d.pid);
    const absl::Time start = absl::Now();
    constexpr int64_t kWindow = 20000;
    for (int64_t first = 0; first < sizes.retained; first += kWindow) {
      const int64_t n = std::min(kWindow, sizes.retained - first);
      std::vector<Future<>> futures;
      for (int64_t b = 0; b < n; b += sizes.batch) {
        for (Future<>& f : executor.submit_batch(
                 EchoCalls(first + b, std::min(sizes.batch, n - b)))) {
          futures.push_back(std::move(f));
        }
      }
      (void)wait(futures);
    }
    figures.seconds = absl::ToDoubleSeconds(absl::Now() - start);
    const ProcSample after = ProcSample::Read(d.pid);
    figures.count = sizes.retained;
    figures.extra = {{"rss_before_mb", before.rss_bytes / 1048576.0},
                     {"rss_after_mb", after.rss_bytes / 1048576.0},
                     {"bytes_per_future",
                      static_cast<double>(after.rss_bytes - before.rss_bytes) /
                          static_cast<double>(sizes.retained)}};
    return figures;
  });
}

}  // namespace futured::bench
