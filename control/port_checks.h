// control/port_checks.h: a port's settings against its driver, for the file and for ctl alike.
//
// The config loader and `ctl add-port` parse their own syntax (TOML keys
// with positions; key=value words) into a PortConfig, then both ask this
// one validator whether the driver (ports/port_driver.h) takes every option
// given and has every option it needs. An option a driver would ignore is
// refused with a reason, never accepted and dropped.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "control/config.h"

namespace sockswitch::control {

struct PortIssue {
  std::string key;  // the option it is about; "" for the port as a whole
  std::string message;
};

// `given`: the keys the port spelled out (TOML keys or ctl words).
[[nodiscard]] std::vector<PortIssue> check_port(const PortConfig& p,
                                                const std::set<std::string>& given);

}  // namespace sockswitch::control
