// Bytes from the outside world (a command's output, a web page's headers)
// made fit for a google.protobuf.Value string, which must be valid UTF-8.
#ifndef FUTURED_SERVER_TASKS_UTF8_TEXT_H_
#define FUTURED_SERVER_TASKS_UTF8_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace futured::server {

// `bytes` with every byte that is not part of a well-formed UTF-8 sequence
// (overlong forms, surrogates and code points past U+10FFFF included)
// replaced by U+FFFD, as Python's bytes.decode(errors="replace") does.
// Valid UTF-8 comes back unchanged. Pure function; thread-safe.
std::string ToValidUtf8(absl::string_view bytes);

}  // namespace futured::server

#endif  // FUTURED_SERVER_TASKS_UTF8_TEXT_H_
