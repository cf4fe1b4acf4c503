// Bounds on a call's arguments, checked before they are bound to a task.
#ifndef FUTURED_SERVER_ENGINE_ARGUMENT_LIMITS_H_
#define FUTURED_SERVER_ENGINE_ARGUMENT_LIMITS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "google/protobuf/struct.pb.h"

namespace futured::server {

// How deep and how large one call's arguments may be. Depth counts lists
// and objects: a number or string is 0 deep, [1] is 1, {"a": [1]} is 2; a
// call is as deep as its deepest argument. Size is the arguments' encoded
// size (positional and keyword together), as in the request.
//
// Why both, beside the message limit: the queue holds up to its capacity of
// calls, so their size bounds the daemon's memory; and a deep value costs a
// stack frame per level wherever it is read (by protobuf, by the JSON
// printer, in a worker). protobuf already refuses a message nested more than
// 100 levels; a JSON level is two (Value, then ListValue or Struct), so over
// the wire a Submit's arguments cannot be deeper than 49, and its
// answers (a result echoed inside FutureInfo, Outcome, a stream message)
// add levels of their own. The default depth leaves room for those.
struct ArgumentLimits {
  int max_depth = 32;
  int64_t max_bytes = 1 << 20;
};

// OK, or INVALID_ARGUMENT naming the depth limit, or RESOURCE_EXHAUSTED
// naming the size limit. Depth is checked first and without recursion, so
// any value is safe to check. Thread-safe; never blocks.
absl::Status CheckArgumentLimits(
    const google::protobuf::RepeatedPtrField<google::protobuf::Value>& args,
    const google::protobuf::Struct& kwargs, const ArgumentLimits& limits);

}  // namespace futured::server

#endif  // FUTURED_SERVER_ENGINE_ARGUMENT_LIMITS_H_
