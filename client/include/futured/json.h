// JSON text <-> google.protobuf.Value, as grpcurl and futurectl print and
// read arguments and results. Pure functions; thread-safe.
#ifndef FUTURED_CLIENT_INCLUDE_FUTURED_JSON_H_
#define FUTURED_CLIENT_INCLUDE_FUTURED_JSON_H_

#include <string>
#include <string_view>

#include "futured/value.h"

namespace futured {

// Compact JSON, e.g. {"a":[1,2.5,"x"]}. Integral numbers print without ".0".
std::string ToJson(const Value& value);

// Parses any JSON value (object, list, string, number, bool, null). Throws
// ValueError with the parser's message when `json` is not JSON.
Value ParseJson(std::string_view json);

}  // namespace futured

#endif  // FUTURED_CLIENT_INCLUDE_FUTURED_JSON_H_
