// The daemon's settings: its flags (each also a FUTURED_<FLAG> environment
// variable, or a line of a --flagfile), read and checked into one Settings.
#ifndef FUTURED_SERVER_DAEMON_SETTINGS_H_
#define FUTURED_SERVER_DAEMON_SETTINGS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/engine/engine.h"
#include "server/rpc/executor_service.h"
#include "server/rpc/server_security.h"
#include "server/store/sqlite_journal.h"
#include "server/tasks/builtin_tasks.h"

namespace futured::server {

// --listen's prefix for a unix socket path.
inline constexpr char kUnixPrefix[] = "unix:";

// Everything the flags decide, checked. A value type.
struct Settings {
  std::string listen;
  std::optional<mode_t> unix_socket_mode = {};  // unset: as the umask leaves it
  std::vector<std::string> plugins;
  EngineOptions engine;
  rpc::ServiceOptions service;
  int max_message_bytes;
  absl::Duration shutdown_grace;
  BuiltinTaskOptions tasks;
  // --http_listen: /metrics and the dashboard; empty: no HTTP listener.
  std::string metrics_listen;
  struct Dashboard {
    std::string operator_principal;  // sees every principal's futures
    bool allow_remote = false;       // served without auth beyond loopback
  } dashboard = {};
  std::string state_dir = {};  // the journal's directory; empty: none
  SqliteJournal::Sync journal_sync = SqliteJournal::Sync::kNormal;
  // Cluster mode: the journal in PostgreSQL, shared with other nodes
  // (state_dir is then unused).
  struct Cluster {
    std::string conninfo = {};  // --cluster; empty: no cluster
    std::string password = {};  // --cluster_password_file's; "": libpq's own
    std::string node_name = {};
    absl::Duration lease = {};
    // --cluster_poll: how often a node looks for ends and requests that no
    // notification announced (the fallback of LISTEN/NOTIFY).
    absl::Duration poll = {};
    // --cluster_claim_interval: how often an idle node claims other nodes'
    // pending work, and how long that work must have waited; zero: never.
    absl::Duration claim_interval = {};
  } cluster = {};
  rpc::ServerSecurity security = {};
};

// Reads the command line, then the FUTURED_* environment variables (the
// command line wins over the environment, the environment over a
// --flagfile), and checks every setting; the error names the setting and
// where it came from. Handles --help and --version as absl does (they exit).
// Call once, from main(), before any thread starts.
absl::StatusOr<Settings> Configure(int argc, char** argv);

}  // namespace futured::server

#endif  // FUTURED_SERVER_DAEMON_SETTINGS_H_
