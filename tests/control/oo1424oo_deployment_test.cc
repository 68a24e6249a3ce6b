// tests/control/oo1424oo_deployment_test.cc: the management host (configs/oo1424oo.toml).
//
// Plan. Configure: an in-process Switch from the shipped oo1424oo.toml and
// oo1424oo-socket.flows verbatim, in a fresh host namespace; one container
// namespace per port: nm-privacy (a veth stand-in for the Netmaker
// WireGuard device, 10.0.0.1) and veth200..veth204 (MCP, op-dbus API,
// Vector DB, Redis, distributed services; 10.0.0.200..204). Send: real TCP
// streams between the containers' kernels (ARP, handshake, data, FIN) over
// the documented service paths, and crafted frames for the negative cases.
// Verify: the streams complete; a frame for the Vector DB port (6333)
// reaches veth202 and no other container, whoever sends it and whatever
// its destination MAC.
#include <gtest/gtest.h>

#include "control/config.h"
#include "tests/control/config_dir.h"
#include "tests/control/delivery_check.h"
#include "tests/control/flow_dump.h"
#include "tests/control/switch_thread.h"
#include "tests/dataplane/frame_builder.h"
#include "tests/net/require_netns.h"
#include "tests/net/tcp_transfer.h"

namespace sockswitch::test {
namespace {

using dataplane::test::FrameBuilder;
using namespace std::chrono_literals;

constexpr std::size_t kDeploymentBytes = 200'000;

struct Management {
  SwitchHost host;
  Container& nm = host.plug("nm-privacy", "10.0.0.1/24");
  Container& mcp = host.plug("veth200", "10.0.0.200/24");
  Container& api = host.plug("veth201", "10.0.0.201/24");
  Container& vdb = host.plug("veth202", "10.0.0.202/24");
  Container& redis = host.plug("veth203", "10.0.0.203/24");
  Container& dist = host.plug("veth204", "10.0.0.204/24");
  SwitchThread sw{host.ns(), control::load_config(shipped_config("oo1424oo.toml"))};

  std::size_t tcp(const Container& client, const Container& server, std::uint16_t port) {
    return net::tcp_transfer(*server.ns, server.address, *client.ns, port, kDeploymentBytes, 8s);
  }
  // n_packets of the flow dump-flows prints as `flow_text`.
  long long packets_of(const std::string& flow_text) {
    const std::string dump = sw.call([](control::Switch& s) { return s.dump_flows("socket"); });
    const long long n = flow_packets(dump, flow_text);
    EXPECT_GE(n, 0) << "no flow " << flow_text << " in\n" << dump;
    return n;
  }
  // n_bytes of that flow: the stream's bytes crossed it (its GSO frames
  // stay whole, so its packet count says little).
  long long bytes_of(const std::string& flow_text) {
    const std::string dump = sw.call([](control::Switch& s) { return s.dump_flows("socket"); });
    const long long n = flow_bytes(dump, flow_text);
    EXPECT_GE(n, 0) << "no flow " << flow_text << " in\n" << dump;
    return n;
  }
};

TEST(Oo1424ooDeployment, McpReachesVectorDbThroughTheTpDst6333Flow) {
  SOCKSWITCH_REQUIRE_NETNS();
  Management m;
  EXPECT_EQ(m.tcp(m.mcp, m.vdb, 6333), kDeploymentBytes);
  EXPECT_GT(m.bytes_of("tcp,tp_dst=6333 actions=output:veth202"),
            static_cast<long long>(kDeploymentBytes));
  // Vector DB's answers travel by its container-responses flow: its
  // handshake and ACKs (a few, since GSO frames arrive and are acked whole).
  EXPECT_GE(m.packets_of("in_port=veth202 actions=NORMAL"), 3);
}

TEST(Oo1424ooDeployment, ApiOn9574AndRedisOn6379) {
  SOCKSWITCH_REQUIRE_NETNS();
  Management m;
  EXPECT_EQ(m.tcp(m.dist, m.api, 9574), kDeploymentBytes);
  EXPECT_GT(m.bytes_of("tcp,tp_dst=9574 actions=output:veth201"),
            static_cast<long long>(kDeploymentBytes));
  EXPECT_EQ(m.tcp(m.mcp, m.redis, 6379), kDeploymentBytes);
  EXPECT_GT(m.bytes_of("tcp,tp_dst=6379 actions=output:veth203"),
            static_cast<long long>(kDeploymentBytes));
}

TEST(Oo1424ooDeployment, NetmakerIsNormalSwitchingEvenForServicePorts) {
  SOCKSWITCH_REQUIRE_NETNS();
  Management m;
  // in_port=nm-privacy (priority 100) wins over the service flows (90).
  const long long before = m.packets_of("tcp,tp_dst=9574 actions=output:veth201");
  EXPECT_EQ(m.tcp(m.nm, m.api, 9574), kDeploymentBytes);
  EXPECT_EQ(m.tcp(m.nm, m.dist, 7000), kDeploymentBytes);
  EXPECT_GT(m.bytes_of("priority=100,in_port=\"nm-privacy\" actions=NORMAL"),
            2 * static_cast<long long>(kDeploymentBytes));
  EXPECT_EQ(m.packets_of("tcp,tp_dst=9574 actions=output:veth201"), before);
}

TEST(Oo1424ooDeployment, VectorDbTrafficReachesVeth202AndNoOtherContainer) {
  SOCKSWITCH_REQUIRE_NETNS();
  Management m;
  DeliveryCheck check(m.host,
                      {"nm-privacy", "veth200", "veth201", "veth202", "veth203", "veth204"});
  for (const Container* from : {&m.mcp, &m.api, &m.redis, &m.dist}) {
    for (const std::uint64_t dst : {m.vdb.mac(), kBroadcast, m.redis.mac(), m.mcp.mac()}) {
      if (dst == from->mac()) continue;
      check.send(from->port,
                 FrameBuilder()
                     .eth(dst, from->mac(), 0x0800)
                     .ipv4(ip_header(6, ipv4(from->address), ipv4("10.0.0.202")))
                     .tcp(41000, 6333, 0x02)
                     .build(),
                 {"veth202"}, "TCP 6333");
    }
  }
  EXPECT_EQ(check.verify(), "");
}

}  // namespace
}  // namespace sockswitch::test
