// control/flows_check_command.h: `sockswitch flows check`, the offline review
// of flow files a person runs before installing them.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace sockswitch::control {

struct FlowsCheckRequest {
  std::vector<std::string> files;
  std::vector<std::string> ports;  // NAME=NUMBER; empty: number names in order of appearance
};

// Prints each file's canonical table and its warnings to `out`, errors to
// `err`. Returns 0 when every file parsed, 1 otherwise.
int flows_check(const FlowsCheckRequest& request, std::ostream& out, std::ostream& err);

}  // namespace sockswitch::control
