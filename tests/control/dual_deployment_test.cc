// tests/control/dual_deployment_test.cc: the documented paths of the dual layout
// (mesh + isolated vmbr0, configs/oo1424oo-dual.toml).
//
// Plan. Configure: DualLayout (in-process Switch, shipped config verbatim,
// one namespace per port). Send: crafted frames for each path seed 001
// draws, from the container where that traffic starts, plus a real TCP
// stream from Netmaker to the MCP container. Verify: each frame arrives at
// exactly the containers the path names and nowhere else: privacy traffic
// crosses mesh -> to-privacy -> from-mesh -> veth102 and touches no mesh
// container; management traffic leaves by nm-privacy only; return traffic
// from Netmaker to 10.1.0.200 reaches the MCP container, which proves the
// filled-in <privacy-match> no longer shadows the return flow, and never
// enters vmbr0.
#include <gtest/gtest.h>

#include "tests/control/dual_layout.h"
#include "tests/dataplane/frame_builder.h"
#include "tests/net/require_netns.h"
#include "tests/net/tcp_transfer.h"

namespace sockswitch::test {
namespace {

using dataplane::test::FrameBuilder;
using namespace std::chrono_literals;

constexpr std::uint64_t kUnknownMac = 0x02005e000001;

std::vector<std::uint8_t> tcp(const Container& from, std::uint64_t dst_mac,
                              const std::string& dst_ip, std::uint16_t dport) {
  return FrameBuilder()
      .eth(dst_mac, from.mac(), 0x0800)
      .ipv4(ip_header(6, ipv4(from.address), ipv4(dst_ip)))
      .tcp(42000, dport, 0x02)
      .build();
}

std::vector<std::uint8_t> arp_request(const Container& from, const std::string& target) {
  return FrameBuilder()
      .eth(kBroadcast, from.mac(), 0x0806)
      .arp(1, from.mac(), ipv4(from.address), 0, ipv4(target))
      .build();
}

TEST(DualDeployment, PrivacyTrafficCrossesThePatchPairToTheXrayClient) {
  SOCKSWITCH_REQUIRE_NETNS();
  DualLayout d;
  DeliveryCheck check(d.host, DualLayout::all_ports());
  check.send("nm-privacy", tcp(d.netmaker, d.xray.mac(), "10.0.0.102", 8080), {"veth102"},
             "privacy TCP to the Xray client");
  check.send("nm-privacy", tcp(d.netmaker, kBroadcast, "10.0.0.7", 443), {"veth102"},
             "privacy TCP to 10.0.0.7, broadcast MAC");
  check.send("nm-privacy", tcp(d.netmaker, d.gateway.mac(), "10.0.0.100", 80), {"veth102"},
             "privacy TCP to the gateway's address (from-mesh leads to veth102 only)");
  check.send("nm-privacy", arp_request(d.netmaker, "10.0.0.102"), {"veth102"},
             "ARP for the Xray client");
  EXPECT_EQ(check.verify(), "");
}

TEST(DualDeployment, XrayClientAndGatewayExitByWarpAndWarpReturnsToXray) {
  SOCKSWITCH_REQUIRE_NETNS();
  DualLayout d;
  DeliveryCheck check(d.host, DualLayout::all_ports());
  check.send("veth102", tcp(d.xray, kUnknownMac, "203.0.113.9", 443), {"warp0"},
             "Xray client to the VPS");
  check.send("veth102", arp_request(d.xray, "10.0.0.1"), {"warp0"},
             "Xray client ARP (not flooded)");
  check.send("warp0", tcp(d.warp, d.xray.mac(), "10.0.0.102", 40000), {"veth102"}, "WARP return");
  check.send("warp0", tcp(d.warp, d.gateway.mac(), "10.0.0.100", 40000), {"veth102"},
             "WARP traffic for the gateway's MAC still goes to Xray");
  check.send("veth100", tcp(d.gateway, kUnknownMac, "203.0.113.9", 443), {"warp0"},
             "gateway to WARP");
  check.send("veth100", tcp(d.gateway, d.xray.mac(), "10.0.0.102", 8080), {"warp0"},
             "gateway to the Xray client's MAC still goes to WARP");
  EXPECT_EQ(check.verify(), "");
}

TEST(DualDeployment, ManagementContainersLeaveByNetmakerOnly) {
  SOCKSWITCH_REQUIRE_NETNS();
  DualLayout d;
  DeliveryCheck check(d.host, DualLayout::all_ports());
  for (const Container* c : {&d.mcp, &d.api}) {
    check.send(c->port, tcp(*c, d.netmaker.mac(), "10.1.0.50", 443), {"nm-privacy"},
               "to a remote node");
    check.send(c->port, arp_request(*c, "10.1.0.1"), {"nm-privacy"}, "ARP broadcast");
    check.send(c->port, tcp(*c, d.xray.mac(), "10.0.0.102", 8080), {"nm-privacy"},
               "to the Xray client's addresses (never directly into vmbr0)");
  }
  check.send("veth200", tcp(d.mcp, d.api.mac(), "10.1.0.201", 9573), {"nm-privacy"},
             "MCP to op-dbus API's MAC goes by Netmaker too");
  EXPECT_EQ(check.verify(), "");
}

// NORMAL never learns the containers' MACs (their traffic leaves by
// output:nm-privacy, not NORMAL), so return traffic is flooded: to both
// management containers, and never through to-privacy into vmbr0.
TEST(DualDeployment, ReturnTrafficFromNetmakerReachesMcpAndStaysOnMesh) {
  SOCKSWITCH_REQUIRE_NETNS();
  DualLayout d;
  DeliveryCheck check(d.host, DualLayout::all_ports());
  check.send("nm-privacy", tcp(d.netmaker, d.mcp.mac(), "10.1.0.200", 9573), {"veth200", "veth201"},
             "return TCP to MCP");
  check.send("nm-privacy", arp_request(d.netmaker, "10.1.0.200"), {"veth200", "veth201"},
             "ARP for MCP");
  check.send("nm-privacy", tcp(d.netmaker, kBroadcast, "192.0.2.1", 80), {"veth200", "veth201"},
             "non-privacy broadcast");
  EXPECT_EQ(check.verify(), "");
  // And a real exchange: ARP, handshake, 200 kB and FIN, through the
  // priority-90 return flow one way and output:nm-privacy the other.
  EXPECT_EQ(net::tcp_transfer(*d.mcp.ns, "10.1.0.200", *d.netmaker.ns, 9573, 200'000, 8s),
            200'000u);
}

}  // namespace
}  // namespace sockswitch::test
