// A command-line flag that may be given many times, each adding a value.
#ifndef FUTURED_COMMON_REPEATED_FLAG_H_
#define FUTURED_COMMON_REPEATED_FLAG_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace futured {

// absl flags keep only the last of a flag given twice, so `--plugin=a
// --plugin=b` would load one plugin. Call this before
// absl::ParseCommandLine: it removes every `--name=value`, `--name value`
// (also with one dash) from argv, shifting the rest down and updating
// *argc, and returns the values in order. A trailing `--name` with no value
// is left for absl to report.
std::vector<std::string> TakeRepeatedFlag(absl::string_view name, int* argc,
                                          char** argv);

}  // namespace futured

#endif  // FUTURED_COMMON_REPEATED_FLAG_H_
