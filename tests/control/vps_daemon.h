// tests/control/vps_daemon.h: the real daemon running the VPS config, for ctl tests.
//
// A SwitchHost with the VPS containers (veth102 = Xray, warp0 and nm-server
// as veth stand-ins), copies of configs/vps.toml and vps-socket.flows in a
// temporary directory (so a test can edit and reload them), and
// `sockswitch run` on that copy inside the host namespace.
#pragma once

#include "tests/control/config_dir.h"
#include "tests/control/daemon_process.h"
#include "tests/control/delivery_check.h"
#include "tests/control/flow_dump.h"
#include "tests/dataplane/frame_builder.h"

namespace sockswitch::test {

struct VpsDaemon {
  SwitchHost host;
  Container& xray = host.plug("veth102", "10.2.0.102/24");
  Container& warp = host.plug("warp0", "172.16.0.2/32");
  Container& nm = host.plug("nm-server", "10.2.0.1/24");
  ConfigDir dir{{"vps.toml", "vps-socket.flows"}};
  DaemonProcess daemon{host.ns(), dir.path("vps.toml"), dir.path("ctl.sock"),
                       dir.path("daemon.log")};

  std::string dump() const { return daemon.ctl_ok({"dump-flows", "socket"}); }
  long long packets(const std::string& flow) const { return flow_packets(dump(), flow); }

  static std::vector<std::uint8_t> udp(const Container& from, std::uint64_t dst_mac,
                                       std::uint16_t dport) {
    return dataplane::test::FrameBuilder()
        .eth(dst_mac, from.mac(), 0x0800)
        .ipv4(ip_header(17, ipv4(from.address), ipv4("10.2.0.102")))
        .udp(40000, dport)
        .build();
  }
};

inline constexpr const char* kWarpFlow = "in_port=warp0 actions=output:veth102";

}  // namespace sockswitch::test
