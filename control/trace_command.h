// control/trace_command.h: `sockswitch trace`, which flow a packet would hit.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace sockswitch::control {

struct TraceRequest {
  std::string flows_file;
  std::vector<std::string> ports;  // NAME=NUMBER
  std::string packet;              // "in_port=warp0,tcp,tp_dst=443"
  bool json = false;
};

// Returns 0 when the packet and the file parsed (whether or not a flow
// matched), 1 on any error.
int trace(const TraceRequest& request, std::ostream& out, std::ostream& err);

}  // namespace sockswitch::control
