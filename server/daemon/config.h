// Where futured's settings come from: the command line, FUTURED_* environment
// variables, a --flagfile, or the defaults, in that order of precedence.
#ifndef FUTURED_SERVER_DAEMON_CONFIG_H_
#define FUTURED_SERVER_DAEMON_CONFIG_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace futured::server {

// A duration flag's value that may also be written as a bare number of
// seconds: "2" reads as "2s"; anything else as absl::ParseDuration reads it
// ("1500ms", "1m"). For limits the documentation states in seconds
// (--worker_cpu_limit).
struct DurationOrSeconds {
  absl::Duration value;
};
bool AbslParseFlag(absl::string_view text, DurationOrSeconds* flag,
                   std::string* error);
std::string AbslUnparseFlag(const DurationOrSeconds& flag);

// Where one setting's value came from.
enum class SettingSource { kDefault, kFlagfile, kEnvironment, kCommandLine };

// "FUTURED_" and the flag's name in upper case: threads -> FUTURED_THREADS.
std::string EnvironmentVariableFor(absl::string_view flag);

// Applies FUTURED_<FLAG> environment variables to abseil flags and remembers
// where each flag's value came from, so that a bad value can be reported
// with its origin. Use it after absl::ParseCommandLine(), which has applied
// the command line and any --flagfile: an environment variable then
// overrides a flagfile's value but never a flag given on the command line.
// Used by main() only, before any thread starts; not thread-safe.
class ConfigSources {
 public:
  // `flags`: the names of the flags the environment may set (futured's own).
  // `argv`: the command line as main() got it.
  ConfigSources(std::set<std::string> flags, int argc, char** argv);

  // Sets each flag in `flags` whose environment variable is set and that
  // the command line does not name. INVALID_ARGUMENT naming the variable
  // for a value the flag does not accept.
  absl::Status ApplyEnvironment();

  // The FUTURED_* variables of the environment that name no flag in `flags`
  // and that no other futured program reads (futurectl's and the client
  // library's, such as FUTURED_TARGET and FUTURED_TOKEN): a typo, or a
  // setting this build does not have, which would otherwise be ignored
  // without a word. In the order of the environment.
  std::vector<std::string> UnknownEnvironmentVariables() const;

  SettingSource SourceOf(absl::string_view flag) const;

  // "--threads", "--threads (from FUTURED_THREADS)" or "--threads (from the
  // flagfile)": how an error message names a setting.
  std::string Describe(absl::string_view flag) const;

 private:
  const std::set<std::string> flags_;
  std::set<std::string, std::less<>> on_command_line_;
  std::set<std::string, std::less<>> from_environment_;
};

}  // namespace futured::server

#endif  // FUTURED_SERVER_DAEMON_CONFIG_H_
