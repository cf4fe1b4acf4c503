#include "server/daemon/config.h"

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <string>
#include <utility>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace futured::server {

bool AbslParseFlag(absl::string_view text, DurationOrSeconds* flag,
                   std::string* error) {
  int64_t seconds = 0;
  if (absl::SimpleAtoi(text, &seconds)) {
    flag->value = absl::Seconds(seconds);
    return true;
  }
  if (absl::ParseDuration(text, &flag->value)) return true;
  *error = "expected a duration such as 30s, 1500ms or 2m, or whole seconds";
  return false;
}

std::string AbslUnparseFlag(const DurationOrSeconds& flag) {
  return absl::FormatDuration(flag.value);
}

std::string EnvironmentVariableFor(absl::string_view flag) {
  return absl::StrCat("FUTURED_", absl::AsciiStrToUpper(flag));
}

ConfigSources::ConfigSources(std::set<std::string> flags, int argc, char** argv)
    : flags_(std::move(flags)) {
  // abseil accepts -name and --name, "=value" or the value as the next
  // argument, and --noname for booleans; "--" ends the flags.
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (!absl::ConsumePrefix(&arg, "-")) continue;
    absl::ConsumePrefix(&arg, "-");
    const absl::string_view name = arg.substr(0, arg.find('='));
    if (flags_.count(std::string(name)) != 0) {
      on_command_line_.emplace(name);
    } else if (absl::StartsWith(name, "no") &&
               flags_.count(std::string(name.substr(2))) != 0) {
      on_command_line_.emplace(name.substr(2));
    }
  }
}

absl::Status ConfigSources::ApplyEnvironment() {
  for (const std::string& name : flags_) {
    const std::string variable = EnvironmentVariableFor(name);
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr || on_command_line_.count(name) != 0) continue;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr) continue;
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("environment variable ", variable, "='", value,
                       "' is not a valid value for --", name, ": ", error));
    }
    from_environment_.insert(name);
  }
  return absl::OkStatus();
}

std::vector<std::string> ConfigSources::UnknownEnvironmentVariables() const {
  // Read by futurectl and the client library (FUTURED_TLS_CERT and
  // FUTURED_TLS_KEY are flags of futured as well).
  static constexpr absl::string_view kClientVariables[] = {
      "FUTURED_TARGET", "FUTURED_TOKEN", "FUTURED_TOKEN_FILE",
      "FUTURED_TLS_CA"};
  std::set<std::string, std::less<>> known(std::begin(kClientVariables),
                                           std::end(kClientVariables));
  for (const std::string& flag : flags_) {
    known.insert(EnvironmentVariableFor(flag));
  }
  std::vector<std::string> unknown;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const absl::string_view variable = absl::string_view(*entry).substr(
        0, absl::string_view(*entry).find('='));
    if (absl::StartsWith(variable, "FUTURED_") && known.count(variable) == 0) {
      unknown.emplace_back(variable);
    }
  }
  return unknown;
}

SettingSource ConfigSources::SourceOf(absl::string_view flag) const {
  if (on_command_line_.count(flag) != 0) return SettingSource::kCommandLine;
  if (from_environment_.count(flag) != 0) return SettingSource::kEnvironment;
  // Neither: only a --flagfile can have moved it off its default.
  const absl::CommandLineFlag* f = absl::FindCommandLineFlag(flag);
  if (f != nullptr && f->CurrentValue() != f->DefaultValue()) {
    return SettingSource::kFlagfile;
  }
  return SettingSource::kDefault;
}

std::string ConfigSources::Describe(absl::string_view flag) const {
  switch (SourceOf(flag)) {
    case SettingSource::kEnvironment:
      return absl::StrCat("--", flag, " (from environment variable ",
                          EnvironmentVariableFor(flag), ")");
    case SettingSource::kFlagfile:
      return absl::StrCat("--", flag, " (from the --flagfile)");
    case SettingSource::kCommandLine:
    case SettingSource::kDefault:
      break;
  }
  return absl::StrCat("--", flag);
}

}  // namespace futured::server
