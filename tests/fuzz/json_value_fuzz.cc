// Fuzz target: the client library's JSON <-> google.protobuf.Value codec,
// which reads futurectl's arguments and prints every result. Any text either
// parses or throws ValueError; whatever parses prints as JSON that parses
// back to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "futured/errors.h"
#include "futured/json.h"
#include "futured/value.h"
#include "google/protobuf/util/message_differencer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  futured::Value value;
  try {
    value = futured::ParseJson(text);
  } catch (const futured::ValueError&) {
    return 0;
  }
  const std::string printed = futured::ToJson(value);
  futured::Value again;
  try {
    again = futured::ParseJson(printed);
  } catch (const futured::ValueError&) {
    std::abort();  // we printed something we cannot read
  }
  if (!google::protobuf::util::MessageDifferencer::Equals(value, again)) {
    std::abort();
  }
  return 0;
}
