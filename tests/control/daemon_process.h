// tests/control/daemon_process.h: the real `sockswitch run` inside a namespace,
// driven with the real `sockswitch ctl`.
//
// Starts SOCKSWITCH_BINARY under `ip netns exec HOST` with its control socket
// and log in a temporary directory, and returns once `ctl show` answers (or
// throws with the log). ctl() runs the client from the root namespace: the
// socket is a path, reachable from any namespace. The destructor stops the
// daemon with SIGTERM (SIGKILL if it hangs) and reaps it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tests/net/command.h"
#include "tests/net/netns.h"

namespace sockswitch::test {

class DaemonProcess final {
 public:
  DaemonProcess(const net::NetNamespace& host, std::string config_path, std::string socket_path,
                std::string log_path);
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // `sockswitch ctl --socket SOCKET args...`, bounded.
  [[nodiscard]] net::CommandResult ctl(const std::vector<std::string>& args) const;
  // The output of a ctl command that must succeed (ADD_FAILURE otherwise).
  [[nodiscard]] std::string ctl_ok(const std::vector<std::string>& args) const;

  void signal(int sig) const;
  // The exit status once the process has exited within `timeout`.
  [[nodiscard]] std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  [[nodiscard]] std::string log() const;
  [[nodiscard]] const std::string& socket_path() const noexcept { return socket_; }
  // The bridge's OpenFlow management socket, as ovs-ofctl names it
  // ("unix:DIR/BRIDGE.mgmt": the daemon runs with OVS_RUNDIR=DIR, the
  // control socket's directory).
  [[nodiscard]] std::string openflow_target(const std::string& bridge) const {
    return "unix:" + socket_.substr(0, socket_.rfind('/')) + "/" + bridge + ".mgmt";
  }

 private:
  std::string socket_, log_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

}  // namespace sockswitch::test
