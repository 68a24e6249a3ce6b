// ports/kernel_routes.h: the kernel's unicast routes, as an L3 port's claims need them.
//
// An L3 port answers ARP/ND for what the host routes through its device
// (neighbor_claims.h), so the control thread reads the routing tables: one
// rtnetlink dump per family, every table (wg-quick puts its default route in
// a table of its own), unicast routes only (local, broadcast, unreachable and
// blackhole routes say nothing about a device). A multipath route gives one
// entry per next hop's device.
#pragma once

#include <vector>

#include "ports/neighbor_claims.h"

namespace sockswitch::ports {

struct KernelRoute final {
  ClaimPrefix destination;
  int device = 0;  // output ifindex
};

// Throws std::system_error when the netlink socket cannot be used.
[[nodiscard]] std::vector<KernelRoute> read_kernel_routes();

}  // namespace sockswitch::ports
