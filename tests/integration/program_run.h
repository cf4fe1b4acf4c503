// Runs a program to its end for a test and captures what it prints: the
// seed's examples and futurectl, as a user would run them from a shell.
#ifndef FUTURED_TESTS_INTEGRATION_PROGRAM_RUN_H_
#define FUTURED_TESTS_INTEGRATION_PROGRAM_RUN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace futured::testing {

struct ProgramOptions {
  // Added to (or replacing, by name) the test's environment: "NAME=value".
  std::vector<std::string> env = {};
  // Written to the program's stdin, which is then closed; at most 64 KiB
  // (one pipe buffer), since it is written before the output is read.
  std::string stdin_text = {};
  // Gives the program a pseudo-terminal as stderr instead of a pipe, so that
  // isatty(2) holds in it. Its stdout stays a pipe.
  bool stderr_is_terminal = false;
  // How long the program may run; then it is killed (SIGKILL) and reaped.
  absl::Duration timeout = absl::Seconds(120);
};

struct ProgramResult {
  int exit_code = -1;  // -1 if a signal ended it
  std::string out;     // all of its stdout
  std::string err;     // all of its stderr (the terminal's, with \r\n)
};

// Spawns argv[0] (a path) with `argv`, reads its stdout and stderr until
// both close, and reaps it. No descriptor but stdin/stdout/stderr reaches
// it. DEADLINE_EXCEEDED (after killing and reaping it) if it outlives
// options.timeout; an errno status if it cannot be started. Blocks; a
// process of its own each call, so thread-safe.
absl::StatusOr<ProgramResult> RunProgram(const std::vector<std::string>& argv,
                                         const ProgramOptions& options = {});

// `text` split at '\n', without a final empty line.
std::vector<std::string> Lines(const std::string& text);

}  // namespace futured::testing

#endif  // FUTURED_TESTS_INTEGRATION_PROGRAM_RUN_H_
