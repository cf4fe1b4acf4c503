// The dashboard's page, style sheet and script, compiled into the daemon
// from server/daemon/dashboard/ (embed_assets.cmake generates their
// definitions at build time).
#ifndef FUTURED_SERVER_DAEMON_DASHBOARD_ASSETS_H_
#define FUTURED_SERVER_DAEMON_DASHBOARD_ASSETS_H_

#include "absl/strings/string_view.h"

namespace futured::server {

// One embedded file, served at `path`. Static storage.
struct DashboardAsset {
  absl::string_view path;  // "/", "/dashboard.js", ...
  absl::string_view content_type;
  absl::string_view body;
};

// The asset served at `path`, or null.
const DashboardAsset* FindDashboardAsset(absl::string_view path);

}  // namespace futured::server

#endif  // FUTURED_SERVER_DAEMON_DASHBOARD_ASSETS_H_
