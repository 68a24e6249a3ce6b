// control/config_ports.h: one [[bridge.port]] table to a PortConfig.
#pragma once

#include "control/config.h"
#include "control/config_checker.h"

namespace sockswitch::control {

// Reads the port's keys; every problem becomes an issue of `c`.
[[nodiscard]] PortConfig read_port(ConfigChecker& c, const toml::table& t);

}  // namespace sockswitch::control
