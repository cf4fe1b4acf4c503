// futurectl's subcommands about the daemon itself: functions, stats and
// health. Each prints grpcurl-style JSON lines on the context's stream (see
// command_context.h, exit_code.h).
#ifndef FUTURED_CLIENT_FUTURECTL_DAEMON_COMMANDS_H_
#define FUTURED_CLIENT_FUTURECTL_DAEMON_COMMANDS_H_

#include <string>

#include "command_context.h"
#include "exit_code.h"

namespace futured::ctl {

// Prints one FunctionInfo per registered task function.
ExitCode Functions(const CommandContext& context);

// Prints the daemon's GetStatsResponse.
ExitCode Stats(const CommandContext& context);

// grpc.health.v1.Health/Check for `service` ("" is the server as a whole):
// prints {"status":"SERVING"} (HealthCheckResponse). kOk when SERVING,
// kUnreachable for any other status; an unknown service throws RpcError
// NOT_FOUND.
ExitCode Health(const CommandContext& context, const std::string& service);

}  // namespace futured::ctl

#endif  // FUTURED_CLIENT_FUTURECTL_DAEMON_COMMANDS_H_
