// control/port_option_text.h: a port's options written as text, into its PortConfig.
//
// Two places spell a port's options as key and text value: `ctl add-port
// NAME key=value...` and the Open vSwitch database's Interface.options
// column (under its own keys, ports/port_driver.h). Both read the value
// here, so a MAC, a queue count or a proxy list is checked the same way
// whichever way it came; the config file has typed TOML values instead
// (config_ports.cc).
#pragma once

#include <cstdint>
#include <string>

#include "control/config.h"
#include "ports/port_driver.h"

namespace sockswitch::control {

// A whole decimal number in [low, high], or std::invalid_argument naming
// the option as `key`.
[[nodiscard]] std::uint32_t number_option(const std::string& key, const std::string& value,
                                          std::uint32_t low, std::uint32_t high);
// 1, 0, true or false.
[[nodiscard]] bool flag_option(const std::string& key, const std::string& value);

// Sets option `o` of `p` from `value`; errors name it as `key`, the user's
// spelling. Whether the driver takes `o` is check_port's (port_checks.h).
void set_port_option(PortConfig& p, ports::PortOption o, const std::string& key,
                     const std::string& value);

}  // namespace sockswitch::control
