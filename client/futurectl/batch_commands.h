// futurectl's subcommands over many futures or inputs: wait, as-completed
// and map. Each prints grpcurl-style JSON lines on the context's stream (see
// command_context.h, exit_code.h). wait and map draw a progress bar on
// stderr when it is a terminal.
#ifndef FUTURED_CLIENT_FUTURECTL_BATCH_COMMANDS_H_
#define FUTURED_CLIENT_FUTURECTL_BATCH_COMMANDS_H_

#include <cstddef>
#include <string>
#include <vector>

#include "command_context.h"
#include "exit_code.h"
#include "futured/value.h"
#include "futured/wait.h"

namespace futured::ctl {

// Python's wait(): returns when `return_when` holds or --timeout passes, and
// prints {"done":[ids],"notDone":[ids],"timedOut":bool} (WaitResponse).
// kOk when the condition holds, kTimedOut when it did not in time.
ExitCode Wait(const CommandContext& context,
              const std::vector<std::string>& ids, ReturnWhen return_when);

// Prints each future's FutureInfo as it completes, those already done
// first; each future once. kOk when all completed (whatever their
// outcomes); at --timeout, throws TimeoutError having printed those that
// completed.
ExitCode AsCompleted(const CommandContext& context,
                     const std::vector<std::string>& ids);

struct MapArgs {
  std::string function;
  std::vector<Value> inputs;
  std::string pool = "thread";
  bool spread_inputs = false;     // a list input is the call's positional args
  std::size_t buffersize = 1024;  // calls in flight at most
};

// Python's executor.map(): prints {"index":"<i>","outcome":{...}} (MapItem)
// for each input in input order. At the first task error or cancellation
// it prints that item and stops, the rest cancelled: kTaskFailed or
// kCancelled. At --timeout, throws TimeoutError (the rest cancelled).
ExitCode Map(const CommandContext& context, const MapArgs& args);

}  // namespace futured::ctl

#endif  // FUTURED_CLIENT_FUTURECTL_BATCH_COMMANDS_H_
