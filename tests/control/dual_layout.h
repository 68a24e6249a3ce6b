// tests/control/dual_layout.h: the dual layout of seed 001 (configs/oo1424oo-dual.toml),
// built for a test.
//
// An in-process Switch from the shipped config, verbatim, in a fresh host
// namespace: bridge `mesh` with nm-privacy (a veth stand-in for the
// Netmaker WireGuard device: neither wireguard-go nor the kernel module is
// available here), the MCP and op-dbus API containers (10.1.0.200/201) and
// the patch port to-privacy; bridge `vmbr0` with from-mesh, warp0 (a veth
// stand-in for the WARP tunnel), the gateway and Xray client containers
// (10.0.0.100/102). Every port but the patch pair is a container namespace
// with a FrameSocket on its eth0.
#pragma once

#include "control/config.h"
#include "tests/control/config_dir.h"
#include "tests/control/delivery_check.h"
#include "tests/control/switch_thread.h"

namespace sockswitch::test {

struct DualLayout {
  SwitchHost host;
  // mesh
  Container& netmaker = host.plug("nm-privacy", "10.1.0.1/24");
  Container& mcp = host.plug("veth200", "10.1.0.200/24");
  Container& api = host.plug("veth201", "10.1.0.201/24");
  // vmbr0
  Container& warp = host.plug("warp0", "172.16.0.2/32");
  Container& gateway = host.plug("veth100", "10.0.0.100/24");
  Container& xray = host.plug("veth102", "10.0.0.102/24");
  SwitchThread sw{host.ns(), control::load_config(shipped_config("oo1424oo-dual.toml"))};

  static inline const std::vector<std::string> kMeshPorts{"nm-privacy", "veth200", "veth201"};
  static inline const std::vector<std::string> kVmbr0Ports{"warp0", "veth100", "veth102"};
  static std::vector<std::string> all_ports() {
    std::vector<std::string> all = kMeshPorts;
    all.insert(all.end(), kVmbr0Ports.begin(), kVmbr0Ports.end());
    return all;
  }
};

}  // namespace sockswitch::test
