// ports/netdev_query.h: what the control path reads about a netdev by name.
//
// Drivers attach to devices by name and re-read them on hotplug: is there a
// device of that name, which ifindex, is it up and running, its MTU, its
// link type (Ethernet or a bare-IP device such as tun or WireGuard) and
// address. One ioctl socket per call: this runs on netlink events and at
// setup, never on the packet path. Names are looked up in the calling
// thread's network namespace.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "packet/mac_addr.h"

namespace sockswitch::ports {

struct NetdevInfo final {
  int ifindex = 0;
  unsigned flags = 0;  // IFF_*
  std::uint32_t mtu = 0;
  std::uint16_t link_type = 0;  // ARPHRD_*
  packet::MacAddr mac;          // zero for devices without one

  [[nodiscard]] bool running() const noexcept;  // IFF_UP and IFF_RUNNING
};

// nullopt when no device of that name exists; throws std::invalid_argument
// for a name the kernel cannot hold and std::system_error for other failures.
[[nodiscard]] std::optional<NetdevInfo> query_netdev(const std::string& name);

// One ETHTOOL_G* request on `device`; false when the driver lacks it.
bool ethtool_get(const std::string& device, void* request);

// Whether the device's frames may come from senders on this host (veth,
// tap and other virtual devices, which have no bus), and so with checksums
// and segmentation left to offload; true when the driver does not say. A
// NIC's frames come off a wire, finished.
[[nodiscard]] bool has_local_senders(const std::string& device);

// Throws std::invalid_argument unless 1..15 characters without '/' or spaces.
void check_netdev_name(const std::string& name);

}  // namespace sockswitch::ports
