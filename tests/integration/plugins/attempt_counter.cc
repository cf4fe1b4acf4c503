// A test plugin for retry policies: a task that fails its first calls and
// counts every call in a file, so that tests can tell how often it ran.
#include <cstdint>
#include <fstream>
#include <string>

#include "futured/plugin.h"

namespace fp = futured::plugin;

namespace {

// Appends a line to `path` and returns how many lines it has now.
int64_t CountCall(const std::string& path) {
  { std::ofstream(path, std::ios::app) << "ran\n"; }
  std::ifstream in(path);
  int64_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  return lines;
}

}  // namespace

FUTURED_PLUGIN(registry) {
  registry.add({
      .name = "attempts.fail_first",
      .description = "Appends a line to the file `path`; raises `type` "
                     "while the file has at most `failures` lines, else "
                     "returns how many it has (the calls so far).",
      .params = {{.name = "path", .type = fp::ParamType::kString},
                 {.name = "failures", .type = fp::ParamType::kInteger},
                 {.name = "type",
                  .type = fp::ParamType::kString,
                  .default_value = "ValueError"}},
      .function = [](fp::Context&, const fp::Args& args) -> fp::Json {
        const int64_t calls = CountCall(args.string("path"));
        if (calls <= args.integer("failures")) {
          throw fp::TaskError(args.string("type"),
                              "call " + std::to_string(calls) + " fails");
        }
        return calls;
      },
  });
}
