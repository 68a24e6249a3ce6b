// tests/ports/af_packet_port_test.cc: AfPacketPort carrying real traffic between namespaces.
//
// Plan: two veth pairs; the inner ends live in namespaces ns1 and ns2 on one
// subnet, the outer ends are attached to two AfPacketPorts in the root
// namespace, and a PortForwarder wires the ports together. If ping and a
// 1 MB TCP transfer from ns1 to ns2 succeed, rx (ring) and tx (sendmmsg)
// both work for ARP, ICMP and TCP. Hotplug: deleting the veth marks the
// port down on refresh() and tx then counts drops; re-creating it and
// refreshing brings traffic back.
#include "ports/af_packet_port.h"

#include <gtest/gtest.h>

#include <memory>

#include "tests/net/require_netns.h"
#include "tests/net/tcp_transfer.h"
#include "tests/ports/port_forwarder.h"
#include "tests/ports/two_namespaces.h"

namespace sockswitch::ports {
namespace {

using namespace std::chrono_literals;
using test::ping;
using test::PortForwarder;
using test::TwoNamespaces;
using test::net::NetNamespace;
using test::net::VethPair;

TEST(AfPacketPort, MissingDeviceIsDownAndDropsTx) {
  SOCKSWITCH_REQUIRE_NETNS();
  AfPacketPort port(test::net::unique_link_name('m'));
  EXPECT_EQ(port.link_state(), LinkState::down);
  EXPECT_EQ(port.wakeup_fd(0), -1);
  packet::PacketPool pool(8);
  std::array<packet::Packet*, 2> pkts{pool.alloc(), pool.alloc()};
  port.tx_burst(0, pool, pkts);
  EXPECT_EQ(port.counters().tx_dropped, 2u);
  EXPECT_EQ(pool.available(), pool.size());
  std::array<packet::Packet*, 4> out{};
  EXPECT_EQ(port.rx_burst(0, pool, out), 0u);
}

TEST(AfPacketPort, RejectsBadNames) {
  EXPECT_THROW(AfPacketPort("this-name-is-too-long"), std::invalid_argument);
  EXPECT_THROW(AfPacketPort(""), std::invalid_argument);
}

TEST(AfPacketPort, PingAndTcpBetweenNamespaces) {
  SOCKSWITCH_REQUIRE_NETNS();
  TwoNamespaces net(99);
  AfPacketPort a(net.v1->outer()), b(net.v2->outer());
  ASSERT_EQ(a.link_state(), LinkState::up);
  ASSERT_EQ(b.link_state(), LinkState::up);
  EXPECT_FALSE(a.is_l3());
  EXPECT_EQ(a.mtu(), 1500u);
  PortForwarder wire(a, b);

  EXPECT_TRUE(ping(net.ns1, "10.99.0.2"));
  EXPECT_TRUE(ping(net.ns2, "fd00:99::1"));
  constexpr std::size_t kBytes = 1'000'000;
  EXPECT_EQ(test::net::tcp_transfer(net.ns2, "10.99.0.2", net.ns1, 5001, kBytes, 8s), kBytes);
  wire.stop();

  const PortCounters ca = a.counters(), cb = b.counters();
  // ~1 MB, most of it in the sender's GSO frames, each passed on whole and
  // counted once (as the kernel counts them).
  EXPECT_GT(ca.rx_gso_whole, 0u);
  EXPECT_GT(ca.rx_bytes, kBytes);
  EXPECT_GT(cb.tx_bytes, kBytes);
  EXPECT_EQ(ca.rx_errors, 0u) << "oversized frames: are the peers' offloads off?";
  EXPECT_EQ(ca.tx_errors + cb.tx_errors, 0u);
}

TEST(AfPacketPort, HotplugDownAndBack) {
  SOCKSWITCH_REQUIRE_NETNS();
  TwoNamespaces net(99);
  AfPacketPort a(net.v1->outer()), b(net.v2->outer());
  {
    PortForwarder wire(a, b);
    EXPECT_TRUE(ping(net.ns1, "10.99.0.2"));
  }
  const int old_index = b.ifindex();

  // The device disappears: refresh() takes the port down and tx only counts.
  const std::string outer = net.v2->outer(), inner = net.v2->inner();
  net.v2->remove();
  b.refresh();
  EXPECT_EQ(b.link_state(), LinkState::down);
  EXPECT_EQ(b.wakeup_fd(0), -1);
  packet::PacketPool pool(8);
  std::array<packet::Packet*, 3> pkts{pool.alloc(), pool.alloc(), pool.alloc()};
  const std::uint64_t dropped = b.counters().tx_dropped;
  b.tx_burst(0, pool, pkts);
  EXPECT_EQ(b.counters().tx_dropped, dropped + 3);
  EXPECT_EQ(pool.available(), pool.size());
  b.refresh();  // still gone: stays down, no throw
  EXPECT_EQ(b.link_state(), LinkState::down);

  // A device of the same name comes back: refresh() re-attaches.
  net.v2 = std::make_unique<VethPair>(outer, inner);
  net.v2->plug_into(net.ns2, {"10.99.0.2/24"});
  // The new inner end has a new MAC; ns1 must not keep using the old one.
  net.ns1.exec_checked({"ip", "neigh", "flush", "all"});
  b.refresh();
  EXPECT_EQ(b.link_state(), LinkState::up);
  EXPECT_NE(b.ifindex(), old_index);
  EXPECT_GE(b.wakeup_fd(0), 0);
  PortForwarder wire(a, b);
  EXPECT_TRUE(ping(net.ns1, "10.99.0.2"));
}

TEST(AfPacketPort, AdminDownIsSeenOnRefresh) {
  SOCKSWITCH_REQUIRE_NETNS();
  NetNamespace ns;
  VethPair v;
  v.plug_into(ns, {"10.99.0.1/24"});
  AfPacketPort port(v.outer());
  // The kernel may report the new veth's carrier a moment late.
  EXPECT_TRUE(test::net::wait_until(
      [&] {
        port.refresh();
        return port.link_state() == LinkState::up;
      },
      3s));
  test::net::run_checked({"ip", "link", "set", v.outer(), "down"});
  port.refresh();
  EXPECT_EQ(port.link_state(), LinkState::down);
  test::net::run_checked({"ip", "link", "set", v.outer(), "up"});
  EXPECT_TRUE(test::net::wait_until(
      [&] {
        port.refresh();
        return port.link_state() == LinkState::up;
      },
      3s));
}

}  // namespace
}  // namespace sockswitch::ports
