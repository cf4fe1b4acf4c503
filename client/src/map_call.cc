#include "map_call.h"

#include <cstddef>
#include <memory>
#include <optional>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client_core.h"

namespace futured::internal {

MapCall::MapCall(ClientCore& client, const v1::MapRequest& request,
                 absl::Duration timeout)
    : size_(static_cast<std::size_t>(request.inputs_size())) {
  client.SetWaitDeadline(&context_, timeout);
  absl::MutexLock lock(&mu_);
  reader_ = client.stub().Map(&context_, request);
}

MapCall::~MapCall() { Cancel(); }

std::optional<v1::Outcome> MapCall::Next(grpc::Status* ended) {
  absl::MutexLock lock(&mu_);
  while (true) {
    if (!messages_.empty()) {
      v1::MapResponse& front = messages_.front();
      if (next_item_ < front.items_size()) {
        return std::move(*front.mutable_items(next_item_++)->mutable_outcome());
      }
      messages_.pop_front();
      next_item_ = 0;
      continue;
    }
    if (!ReadLocked()) break;
  }
  *ended = status_;
  return std::nullopt;
}

void MapCall::Drain() {
  absl::MutexLock lock(&mu_);
  while (ReadLocked()) {
  }
}

void MapCall::Cancel() {
  context_.TryCancel();
  absl::MutexLock lock(&mu_);
  FinishLocked();
}

bool MapCall::ReadLocked() {
  if (reader_ == nullptr) return false;
  if (received_ < size_) {
    v1::MapResponse response;
    if (reader_->Read(&response) && response.items_size() > 0) {
      received_ += static_cast<std::size_t>(response.items_size());
      messages_.push_back(std::move(response));
      if (received_ == size_) FinishLocked();
      return true;
    }
  }
  FinishLocked();
  return false;
}

void MapCall::FinishLocked() {
  if (reader_ == nullptr) return;
  status_ = reader_->Finish();
  reader_.reset();
  if (status_.ok() && received_ < size_) {
    status_ = grpc::Status(grpc::StatusCode::INTERNAL,
                           "map: the daemon ended a Map call before all its "
                           "results");
  }
}

}  // namespace futured::internal
