#include "futured/as_completed.h"

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client_core.h"
#include "future_proxy.h"
#include "futured/errors.h"
#include "info_convert.h"
#include "one_client.h"
#include "rpc_status.h"

namespace futured::internal {

struct AsCompletedStream::State {
  std::vector<std::shared_ptr<FutureProxy>> proxies;
  std::deque<std::size_t> ready;  // Completed, not yet yielded.
  std::unordered_map<std::string, std::size_t> index_of;  // Streamed ones.
  std::size_t yielded = 0;
  grpc::ClientContext context;
  v1::AsCompletedResponse response;
  std::unique_ptr<grpc::ClientReader<v1::AsCompletedResponse>> reader;
};

AsCompletedStream::AsCompletedStream(
    std::vector<std::shared_ptr<FutureProxy>> proxies, absl::Duration timeout)
    : state_(std::make_unique<State>()) {
  State& s = *state_;
  s.proxies = std::move(proxies);
  ClientCore* client = OneClient(s.proxies);
  v1::AsCompletedRequest request;
  for (std::size_t i = 0; i < s.proxies.size(); ++i) {
    if (s.proxies[i]->KnownFinal()) {
      s.ready.push_back(i);
    } else {
      s.index_of.emplace(s.proxies[i]->id(), i);
      request.add_ids(s.proxies[i]->id());
    }
  }
  if (request.ids_size() == 0) return;
  if (timeout != absl::InfiniteDuration()) {
    *request.mutable_timeout() = ToProtoDuration(timeout);
  }
  client->SetWaitDeadline(&s.context, timeout);
  s.reader = client->stub().AsCompleted(&s.context, request);
}

AsCompletedStream::~AsCompletedStream() {
  if (state_->reader == nullptr) return;
  state_->context.TryCancel();
  (void)state_->reader->Finish();
}

std::optional<std::size_t> AsCompletedStream::Next() {
  State& s = *state_;
  while (s.ready.empty() && s.reader != nullptr) {
    if (s.reader->Read(&s.response)) {
      for (const v1::FutureInfo& info : s.response.futures()) {
        auto it = s.index_of.find(info.id());
        if (it == s.index_of.end()) continue;
        s.proxies[it->second]->Record(info);
        s.ready.push_back(it->second);
        s.index_of.erase(it);
      }
      continue;
    }
    grpc::Status status = s.reader->Finish();
    s.reader.reset();
    // A daemon's timeout after it sent every future is no timeout: Python
    // raises only while futures are pending.
    if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
        s.index_of.empty()) {
      break;
    }
    if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      throw TimeoutError(absl::StrCat(s.proxies.size() - s.yielded, " (of ",
                                      s.proxies.size(),
                                      ") futures unfinished"));
    }
    ThrowIfFailed(status);
  }
  if (s.ready.empty()) return std::nullopt;
  const std::size_t next = s.ready.front();
  s.ready.pop_front();
  ++s.yielded;
  return next;
}

}  // namespace futured::internal
