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

// One request; the daemon's output, or std::runtime_error with its error.
std::string ctl_request(const std::string& socket_path, const std::string& command,
                        const std::vector<std::string>& args);

// `ctl trace --live BRIDGE MATCH [-c N] [--timeout S] [--json]`
// (ctl_live_trace.cc): arms the trace, polls it until N packets are
// recorded or S seconds pass, prints the report. 0 when all N came.
int live_trace(const std::string& socket_path, const std::vector<std::string>& words,
               std::ostream& out, std::ostream& err);

// `ctl capture BRIDGE PORT [--rx|--tx|--both] [-c N] [-w FILE|-]`
// (ctl_capture.cc): arms a capture and writes what it takes as pcap to FILE
// (or stdout) until N frames (without -c: until interrupted), then takes
// it off. 0 when it ended as asked.
int capture(const std::string& socket_path, const std::vector<std::string>& words,
            std::ostream& out, std::ostream& err);

}  // namespace sockswitch::control
