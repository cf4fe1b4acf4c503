// The JSON that futurectl reads from its command line: positional arguments
// (a list), keyword arguments (an object) and map inputs (a list, or JSON
// values one per line on stdin). Each function throws futured::ValueError,
// naming the argument, when the text is not JSON of the expected shape.
// Pure functions (but ReadJsonLines reads its stream); thread-compatible.
#ifndef FUTURED_CLIENT_FUTURECTL_JSON_ARGS_H_
#define FUTURED_CLIENT_FUTURECTL_JSON_ARGS_H_

#include <istream>
#include <string>
#include <vector>

#include "futured/value.h"
#include "google/protobuf/struct.pb.h"

namespace futured::ctl {

// `json` must be a JSON list, e.g. [1, "a", {"b": 2}]; `what` names it in
// errors ("ARGS").
std::vector<Value> ParseJsonList(const std::string& json,
                                 const std::string& what);

// `json` must be a JSON object, e.g. {"seconds": 1}.
google::protobuf::Struct ParseJsonObject(const std::string& json,
                                         const std::string& what);

// One JSON value per non-blank line of `in`, until its end.
std::vector<Value> ReadJsonLines(std::istream& in, const std::string& what);

}  // namespace futured::ctl

#endif  // FUTURED_CLIENT_FUTURECTL_JSON_ARGS_H_
