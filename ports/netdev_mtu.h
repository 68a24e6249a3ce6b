// ports/netdev_mtu.h: setting a netdev's MTU by name (an OVSDB mtu_request).
//
// Runs on the control thread, at configuration time only.
#pragma once

#include <cstdint>
#include <string>

namespace sockswitch::ports {

// Throws std::system_error when the kernel refuses (no such device, an MTU
// the device cannot take).
void set_netdev_mtu(const std::string& name, std::uint32_t mtu);

}  // namespace sockswitch::ports
