// tests/ports/tap_port_test.cc: TapPort carrying real traffic, and re-creation.
//
// Plan: two taps created by TapPorts in the root namespace are moved into
// ns1 and ns2 (their queue fds keep working there) and configured on one
// subnet; a PortForwarder wires the ports; ping and a 1 MB TCP transfer
// must succeed. Then the device is deleted: the port goes down on refresh()
// and, being the device's creator, re-creates it.
#include "ports/tap_port.h"

#include <gtest/gtest.h>

#include <cstring>

#include "tests/net/require_netns.h"
#include "tests/net/tcp_transfer.h"
#include "tests/ports/port_forwarder.h"

namespace sockswitch::ports {
namespace {

using namespace std::chrono_literals;
using test::net::NetNamespace;

TEST(TapPort, PingAndTcpBetweenNamespaces) {
  SOCKSWITCH_REQUIRE_NETNS();
  NetNamespace ns1, ns2;
  TapPort a(test::net::unique_link_name('t')), b(test::net::unique_link_name('t'));
  ASSERT_EQ(a.link_state(), LinkState::up);
  EXPECT_GE(a.wakeup_fd(0), 0);
  EXPECT_EQ(a.mtu(), 1500u);
  test::net::run_checked({"ip", "link", "set", a.name(), "netns", ns1.name()});
  test::net::run_checked({"ip", "link", "set", b.name(), "netns", ns2.name()});
  test::net::configure_link(ns1, a.name(), {"10.97.0.1/24"});
  test::net::configure_link(ns2, b.name(), {"10.97.0.2/24"});
  a.refresh();  // still attached although out of our namespace
  EXPECT_EQ(a.link_state(), LinkState::up);

  test::PortForwarder wire(a, b);
  const auto r = ns1.exec({"ping", "-c", "3", "-i", "0.2", "-W", "1", "10.97.0.2"}, 5s);
  EXPECT_TRUE(r.ok()) << r.output;
  constexpr std::size_t kBytes = 1'000'000;
  EXPECT_EQ(test::net::tcp_transfer(ns2, "10.97.0.2", ns1, 5002, kBytes, 8s), kBytes);
  wire.stop();
  EXPECT_GT(a.counters().rx_bytes, kBytes);
  EXPECT_GT(b.counters().tx_bytes, kBytes);
  EXPECT_EQ(a.counters().rx_errors + b.counters().tx_errors, 0u);
}

TEST(TapPort, RecreatesItsDeviceAfterDeletion) {
  SOCKSWITCH_REQUIRE_NETNS();
  TapPort tap(test::net::unique_link_name('t'));
  test::net::run_checked({"ip", "link", "del", tap.name()});
  packet::PacketPool pool(8);
  std::array<packet::Packet*, 2> pkts{pool.alloc(), pool.alloc()};
  std::memset(pkts[0]->append(60), 0, 60);
  std::memset(pkts[1]->append(60), 0, 60);
  tap.tx_burst(0, pool, pkts);  // the fd notices the device is gone
  EXPECT_EQ(tap.link_state(), LinkState::down);
  EXPECT_EQ(tap.counters().tx_dropped, 2u);
  EXPECT_EQ(pool.available(), pool.size());
  tap.refresh();
  EXPECT_EQ(tap.link_state(), LinkState::up);
  EXPECT_TRUE(test::net::run_command({"ip", "link", "show", tap.name()}, 3s).ok());
}

TEST(TapPort, AttachToMissingDeviceStaysDownUntilItAppears) {
  SOCKSWITCH_REQUIRE_NETNS();
  const std::string name = test::net::unique_link_name('p');
  TapPort tap(name, {.queues = 2, .create = false});
  EXPECT_EQ(tap.link_state(), LinkState::down);
  EXPECT_EQ(tap.queue_count(), 2);
  test::net::run_checked({"ip", "tuntap", "add", "dev", name, "mode", "tap", "multi_queue"});
  tap.refresh();
  EXPECT_EQ(tap.link_state(), LinkState::up);
  EXPECT_GE(tap.wakeup_fd(1), 0);
  EXPECT_NE(tap.wakeup_fd(0), tap.wakeup_fd(1));
  test::net::run_checked({"ip", "link", "del", name});
  tap.refresh();
  EXPECT_EQ(tap.link_state(), LinkState::down);
}

}  // namespace
}  // namespace sockswitch::ports
