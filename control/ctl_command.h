// control/ctl_command.h: `sockswitch ctl`, the client of the control socket
// (what ovs-vsctl and ovs-ofctl are to OVS).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace sockswitch::control {

inline constexpr const char* kDefaultControlSocket = "/run/sockswitch/sockswitch.sock";

// words = command and its arguments. Returns the exit status.
int ctl(const std::string& socket_path, const std::vector<std::string>& words, std::ostream& out,
        std::ostream& err);

}  // namespace sockswitch::control
