#include "executor_core.h"

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "client_core.h"
#include "future_proxy.h"
#include "futured/errors.h"
#include "info_convert.h"
#include "map_call.h"
#include "rpc_status.h"

namespace futured::internal {
namespace {

// Tracked futures before the first prune.
constexpr std::size_t kFirstPrune = 1024;
// Tracked futures not known to be done before a prune asks the daemon.
constexpr std::size_t kAskDaemonAt = 16384;
// IDs per Wait call; below the daemon's default --max_ids_per_call.
constexpr std::size_t kIdsPerWait = 1000;
// Calls per SubmitBatch; below the daemon's default --max_ids_per_call.
constexpr std::size_t kCallsPerBatch = 1000;
// Map calls followed before the first prune of those gone.
constexpr std::size_t kFirstMapPrune = 64;

// One Wait(ALL_COMPLETED) on `proxies`; records the done ones.
grpc::Status WaitChunk(ClientCore& client,
                       const std::vector<std::shared_ptr<FutureProxy>>& proxies,
                       absl::Duration timeout) {
  v1::WaitRequest request;
  for (const auto& proxy : proxies) request.add_ids(proxy->id());
  request.set_return_when(v1::RETURN_WHEN_ALL_COMPLETED);
  if (timeout != absl::InfiniteDuration()) {
    *request.mutable_timeout() = ToProtoDuration(timeout);
  }
  grpc::ClientContext context;
  client.SetWaitDeadline(&context, timeout);
  v1::WaitResponse response;
  grpc::Status status = client.stub().Wait(&context, request, &response);
  if (!status.ok()) return status;
  const absl::flat_hash_set<absl::string_view> done(response.done().begin(),
                                                    response.done().end());
  for (const auto& proxy : proxies) {
    if (done.contains(proxy->id())) proxy->RecordDone();
  }
  return status;
}

}  // namespace

ExecutorCore::ExecutorCore(std::shared_ptr<ClientCore> client, std::string pool)
    : client_(std::move(client)),
      pool_(std::move(pool)),
      prune_at_(kFirstPrune),
      map_prune_at_(kFirstMapPrune) {}

void ExecutorCore::CheckOpen() {
  absl::MutexLock lock(&mu_);
  if (shut_down_) {
    throw RuntimeError("cannot schedule new futures after shutdown");
  }
}

void ExecutorCore::BeginSubmit() {
  absl::MutexLock lock(&mu_);
  if (shut_down_) {
    throw RuntimeError("cannot schedule new futures after shutdown");
  }
  ++submitting_;
}

void ExecutorCore::EndSubmit(
    const std::vector<std::shared_ptr<FutureProxy>>& proxies) {
  bool prune = false;
  {
    absl::MutexLock lock(&mu_);
    --submitting_;
    for (const auto& proxy : proxies) {
      if (!proxy->KnownDone()) tracked_.push_back(proxy);
    }
    prune = tracked_.size() >= prune_at_;
  }
  if (prune) Prune();
}

std::shared_ptr<FutureProxy> ExecutorCore::Submit(const Call& call) {
  BeginSubmit();
  std::string id;
  const grpc::Status status = client_->Submit(call, pool_, &id);
  std::vector<std::shared_ptr<FutureProxy>> proxies;
  if (status.ok()) {
    proxies.push_back(std::make_shared<FutureProxy>(client_, std::move(id)));
  }
  EndSubmit(proxies);
  ThrowIfFailed(status);
  return proxies.front();
}

std::shared_ptr<MapCall> ExecutorCore::StartMapCall(
    const v1::MapRequest& request, absl::Duration timeout) {
  BeginSubmit();
  auto call = std::make_shared<MapCall>(*client_, request, timeout);
  absl::MutexLock lock(&mu_);
  --submitting_;
  if (map_calls_.size() >= map_prune_at_) {
    std::erase_if(map_calls_, [](const auto& c) { return c.expired(); });
    map_prune_at_ = std::max(kFirstMapPrune, 2 * map_calls_.size());
  }
  map_calls_.push_back(call);
  return call;
}

void ExecutorCore::Adopt(std::vector<std::shared_ptr<MapCall>> calls) {
  absl::MutexLock lock(&mu_);
  adopted_.insert(adopted_.end(), calls.begin(), calls.end());
}

v1::FutureInfo ExecutorCore::Run(const Call& call) {
  CheckOpen();
  v1::FutureInfo info;
  ThrowIfFailed(client_->Run(call, pool_, &info));
  return info;
}

std::vector<std::shared_ptr<FutureProxy>> ExecutorCore::SubmitBatch(
    const std::vector<Call>& calls) {
  BeginSubmit();
  std::vector<std::shared_ptr<FutureProxy>> proxies;
  proxies.reserve(calls.size());
  grpc::Status status;
  std::vector<absl::StatusOr<std::string>> results;
  const absl::Span<const Call> all(calls);
  for (std::size_t begin = 0; begin < all.size() && status.ok();
       begin += kCallsPerBatch) {
    status = client_->SubmitBatch(all.subspan(begin, kCallsPerBatch), pool_,
                                  &results);
    if (!status.ok()) break;
    for (absl::StatusOr<std::string>& result : results) {
      if (result.ok()) {
        proxies.push_back(
            std::make_shared<FutureProxy>(client_, *std::move(result)));
      } else {
        proxies.push_back(std::make_shared<FutureProxy>(client_, ""));
        proxies.back()->RecordLost(result.status());
      }
    }
  }
  EndSubmit(proxies);
  ThrowIfFailed(status);
  return proxies;
}

void ExecutorCore::Prune() {
  std::vector<std::shared_ptr<FutureProxy>> tracked;
  {
    absl::MutexLock lock(&mu_);
    tracked.swap(tracked_);
  }
  std::erase_if(tracked, [](const auto& p) { return p->KnownDone(); });
  // The daemon is asked only about many: a caller that collects its results
  // (as as_completed does) keeps the list short by itself, and a Wait over
  // all its futures in flight at every prune cost the daemon as much as
  // running them.
  if (tracked.size() >= kAskDaemonAt) {
    try {
      WaitAllDone(tracked, absl::ZeroDuration());
    } catch (const RpcError&) {
      // Keep them all; the next prune or the shutdown asks again.
    }
    std::erase_if(tracked, [](const auto& p) { return p->KnownDone(); });
  }
  absl::MutexLock lock(&mu_);
  tracked_.insert(tracked_.end(), tracked.begin(), tracked.end());
  prune_at_ = std::max(kFirstPrune, 2 * tracked_.size());
}

void ExecutorCore::Shutdown(bool wait, bool cancel_futures) {
  std::vector<std::shared_ptr<FutureProxy>> tracked;
  std::vector<std::shared_ptr<MapCall>> map_calls;
  {
    absl::MutexLock lock(&mu_);
    shut_down_ = true;
    mu_.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &submitting_));
    tracked = tracked_;
    if (wait) {
      for (const auto& weak : map_calls_) {
        if (auto call = weak.lock()) map_calls.push_back(std::move(call));
      }
      map_calls_.clear();
      map_calls.insert(map_calls.end(), adopted_.begin(), adopted_.end());
      adopted_.clear();
    }
  }
  std::erase_if(tracked, [](const auto& p) { return p->KnownDone(); });
  if (cancel_futures) {
    for (const auto& proxy : tracked) {
      try {
        proxy->CancelIfPending();
      } catch (const RpcError& e) {
        if (e.code() != absl::StatusCode::kNotFound) throw;
      }
    }
  }
  if (!wait) return;
  WaitAllDone(tracked, absl::InfiniteDuration());
  // A map's results are kept for its iteration; its calls end when read.
  for (const auto& call : map_calls) call->Drain();
  absl::MutexLock lock(&mu_);
  std::erase_if(tracked_, [](const auto& p) { return p->KnownDone(); });
}

void WaitAllDone(const std::vector<std::shared_ptr<FutureProxy>>& proxies,
                 absl::Duration timeout) {
  if (proxies.empty()) return;
  ClientCore& client = proxies.front()->core();
  for (std::size_t begin = 0; begin < proxies.size(); begin += kIdsPerWait) {
    const std::size_t end = std::min(proxies.size(), begin + kIdsPerWait);
    std::vector<std::shared_ptr<FutureProxy>> chunk(proxies.begin() + begin,
                                                    proxies.begin() + end);
    grpc::Status status = WaitChunk(client, chunk, timeout);
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      // Most often the caller has collected and released some meanwhile:
      // without those it is asked once more.
      std::erase_if(chunk, [](const auto& p) { return p->KnownDone(); });
      if (chunk.empty()) continue;
      status = WaitChunk(client, chunk, timeout);
    }
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      // One is released or expired: wait for the others one by one.
      for (const auto& proxy : chunk) {
        grpc::Status one = WaitChunk(client, {proxy}, timeout);
        if (one.error_code() == grpc::StatusCode::NOT_FOUND) {
          // Gone from the daemon: nothing to wait for, and nothing to ask.
          proxy->RecordLost(ToAbslStatus(one));
          continue;
        }
        ThrowIfFailed(one);
      }
      continue;
    }
    ThrowIfFailed(status);
  }
}

}  // namespace futured::internal
