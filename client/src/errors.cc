#include "futured/errors.h"

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "google/protobuf/struct.pb.h"

namespace futured {

TaskError::TaskError(std::string type, std::string message,
                     google::protobuf::Value details)
    : Error(message),
      type_(std::move(type)),
      message_(std::move(message)),
      details_(std::move(details)) {}

RpcError::RpcError(absl::Status status)
    : Error(status.ToString()), status_(std::move(status)) {}

}  // namespace futured
