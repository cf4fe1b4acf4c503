#include "server/daemon/grpc_log.h"

#include <grpc/support/log.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace futured::server {
namespace {

// gRPC's INFO lines are start-up details (epoll descriptors, pollers):
// futured's debug, not its info.
LogLevel LevelOf(gpr_log_severity severity) {
  switch (severity) {
    case GPR_LOG_SEVERITY_DEBUG:
    case GPR_LOG_SEVERITY_INFO:
      return LogLevel::kDebug;
    case GPR_LOG_SEVERITY_ERROR:
      return LogLevel::kError;
  }
  return LogLevel::kError;
}

gpr_log_severity SeverityFor(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return GPR_LOG_SEVERITY_DEBUG;
    case LogLevel::kInfo:
    case LogLevel::kWarning:
    case LogLevel::kError:
      return GPR_LOG_SEVERITY_ERROR;
  }
  return GPR_LOG_SEVERITY_ERROR;
}

// gpr_log_func: one of futured's lines per line of gRPC's message, so that
// each carries the journal priority.
void LogGrpcLine(gpr_log_func_args* args) {
  const LogLevel level = LevelOf(args->severity);
  if (!LogEnabled(level)) return;
  const absl::string_view file = args->file == nullptr ? "" : args->file;
  const absl::string_view base = file.substr(file.rfind('/') + 1);
  for (absl::string_view line :
       absl::StrSplit(args->message == nullptr ? "" : args->message, '\n',
                      absl::SkipWhitespace())) {
    Log(level, absl::StrCat("grpc: ", line, " (", base, ":", args->line, ")"));
  }
}

}  // namespace

void RouteGrpcLogs(LogLevel level) {
  gpr_set_log_verbosity(SeverityFor(level));
  gpr_set_log_function(LogGrpcLine);
}

}  // namespace futured::server
