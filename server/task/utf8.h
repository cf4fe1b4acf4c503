// Text from outside (plugins, task reports, a command's output, a web page)
// made safe for proto3 string fields, which must hold valid UTF-8.
#ifndef FUTURED_SERVER_UTF8_H_
#define FUTURED_SERVER_UTF8_H_

#include <cstddef>
#include <limits>
#include <string>

#include "absl/strings/string_view.h"

namespace futured::server {

// `text` with every byte that is not part of a well-formed UTF-8 sequence
// (overlong forms, surrogates and code points past U+10FFFF included)
// replaced by U+FFFD, as Python's bytes.decode(errors="replace") does for
// each such byte, cut to at most `max_bytes` without splitting a character.
// Valid UTF-8 within the limit comes back unchanged. Pure; thread-safe.
std::string ToValidUtf8(absl::string_view text,
                        size_t max_bytes = std::numeric_limits<size_t>::max());

}  // namespace futured::server

#endif  // FUTURED_SERVER_UTF8_H_
