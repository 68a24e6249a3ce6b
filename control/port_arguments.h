// control/port_arguments.h: `--port NAME=NUMBER` options into a PortMap.
#pragma once

#include <string>
#include <vector>

#include "flowtable/port_map.h"

namespace sockswitch::control {

// Throws std::invalid_argument naming the bad argument.
[[nodiscard]] flowtable::PortMap port_map_from_arguments(const std::vector<std::string>& args);

// The whole file, or std::runtime_error naming the file and the reason.
[[nodiscard]] std::string read_text_file(const std::string& path);

}  // namespace sockswitch::control
