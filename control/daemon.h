// control/daemon.h: `sockswitch run`, the process that replaces ovs-vswitchd.
//
// The control thread is a Boost.Asio event loop: it builds the Switch from
// the config file, serves the control socket (unix, mode 0600: root only),
// reloads on SIGHUP and on `ctl reload`, checks port devices every second
// (hotplug), tells systemd it is ready (Type=notify), and shuts down cleanly
// on SIGTERM/SIGINT. The poll threads do all packet work.
#pragma once

#include <optional>
#include <string>

namespace sockswitch::control {

struct DaemonOptions {
  std::string config_path;
  std::optional<std::string> control_socket;  // overrides the config's
  std::optional<std::string> ovsdb;           // overrides the config's `ovsdb`
};

// Returns the process exit status.
int run_daemon(const DaemonOptions& options);

}  // namespace sockswitch::control
