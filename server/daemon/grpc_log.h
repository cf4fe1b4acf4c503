// gRPC's own log lines (gpr_log: bind failures, transport errors, ...)
// through futured's logger, so that they carry its format and, under the
// systemd journal, their priority ("<3>" for gRPC's errors) instead of
// reaching stderr in gRPC's format, which the journal files as info.
#ifndef FUTURED_SERVER_DAEMON_GRPC_LOG_H_
#define FUTURED_SERVER_DAEMON_GRPC_LOG_H_

#include "common/log.h"

namespace futured::server {

// From now on gRPC logs through futured::Log(), as "grpc: <message>
// (<file>:<line>)": its errors as errors, its DEBUG and INFO lines (start-up
// details) as debug; and gRPC's verbosity follows `level`: everything at
// debug, only its errors otherwise. GRPC_VERBOSITY no longer applies. Call it
// once in main(), before the first gRPC object, which reads the verbosity
// at gRPC's initialisation; the hook itself is thread-safe, as Log() is.
void RouteGrpcLogs(LogLevel level);

}  // namespace futured::server

#endif  // FUTURED_SERVER_DAEMON_GRPC_LOG_H_
