// tests/ports/dpdk_port_test.cc: DpdkPort over net_af_packet vdevs carrying real traffic.
//
// Plan: the EAL starts once for the whole process (it cannot start twice),
// in the suite's set-up, with --no-huge --no-pci. Two veth pairs join
// namespaces ns1 and ns2; each outer end gets a DpdkPort on a hot-plugged
// net_af_packet vdev, and a PortForwarder (which polls them: wakeup_fd is
// -1) wires the ports. Ping (v4, v6) and a 1 MB TCP transfer must succeed.
// The vdevs are removed with the ports, so a later test can probe new ones.
// Built only with DPDK (SOCKSWITCH_HAVE_DPDK); without it the factory test in
// port_factory rejects "dpdk" by name.
#ifdef SOCKSWITCH_HAVE_DPDK
#include "ports/dpdk_port.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>

#include "ports/port_factory.h"
#include "tests/net/require_netns.h"
#include "tests/net/skip.h"
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

std::string af_packet_vdev(const std::string& iface) {
  static int next = 0;  // vdev names are unique per process
  return "net_af_packet" + std::to_string(next++) + ",iface=" + iface;
}

class DpdkPortTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SOCKSWITCH_REQUIRE_NETNS();
    try {
      DpdkEal::ensure_started();
    } catch (const std::system_error& e) {
      SOCKSWITCH_SKIP(std::string("the DPDK EAL cannot start here: ") + e.what());
    }
  }
};

TEST(DpdkEal, ArgumentsNeedNoHugepagesNorPci) {
  const std::vector<std::string> args = DpdkEal::arguments({});
  auto has = [&](const std::string& a) {
    return std::find(args.begin(), args.end(), a) != args.end();
  };
  EXPECT_TRUE(has("--no-huge"));
  EXPECT_TRUE(has("--no-pci"));
  EXPECT_TRUE(has("--no-shconf"));  // what --in-memory would give, had --no-huge allowed it
  EXPECT_TRUE(has("-l"));
  EXPECT_TRUE(has("sockswitch-" + std::to_string(::getpid())));
}

TEST_F(DpdkPortTest, PingAndTcpBetweenNamespaces) {
  TwoNamespaces net(97);
  // The net_af_packet vdev stands in for a NIC, which never hands over
  // frames with checksums or segmentation left to do.
  net.v1->sender_offloads_off(net.ns1);
  net.v2->sender_offloads_off(net.ns2);
  DpdkPort a("dpdk-a", {.devargs = af_packet_vdev(net.v1->outer())}),
      b("dpdk-b", {.devargs = af_packet_vdev(net.v2->outer())});
  ASSERT_EQ(a.link_state(), LinkState::up);
  ASSERT_EQ(b.link_state(), LinkState::up);
  EXPECT_EQ(a.wakeup_fd(0), -1);
  EXPECT_GT(a.mtu(), 0u);

  PortForwarder wire(a, b);
  EXPECT_TRUE(ping(net.ns1, "10.97.0.2"));
  EXPECT_TRUE(ping(net.ns2, "fd00:97::1"));
  constexpr std::size_t kBytes = 1'000'000;
  EXPECT_EQ(test::net::tcp_transfer(net.ns2, "10.97.0.2", net.ns1, 5003, kBytes, 8s), kBytes);
  wire.stop();

  const PortCounters ca = a.counters(), cb = b.counters();
  EXPECT_GT(ca.rx_packets, 700u);
  EXPECT_GT(cb.tx_packets, 700u);
  EXPECT_GT(ca.rx_bytes, kBytes);
  EXPECT_EQ(ca.rx_errors + cb.rx_errors + ca.tx_errors + cb.tx_errors, 0u);
}

TEST_F(DpdkPortTest, FactoryBuildsItAndTheVdevCanBeProbedAgain) {
  NetNamespace ns;
  VethPair v;
  v.plug_into(ns, {"10.97.1.1/24"});
  PortSpec spec;
  spec.name = "dpdk-f";
  spec.driver = "dpdk";
  spec.devargs = "net_af_packet_f,iface=" + v.outer();
  for (int round = 0; round < 2; ++round) {  // the port removes its vdev on teardown
    std::unique_ptr<Port> port = make_port(spec);
    ASSERT_NE(dynamic_cast<DpdkPort*>(port.get()), nullptr);
    EXPECT_EQ(port->link_state(), LinkState::up);
  }
}

TEST_F(DpdkPortTest, UnknownDeviceThrowsNamingIt) {
  try {
    DpdkPort p("dpdk-x", {.devargs = "net_no_such_driver0"});
    FAIL() << "probed a device that does not exist";
  } catch (const std::system_error& e) {
    EXPECT_NE(std::string(e.what()).find("net_no_such_driver0"), std::string::npos) << e.what();
  }
  EXPECT_THROW(DpdkPort("dpdk-y", {}), std::invalid_argument);
}

}  // namespace
}  // namespace sockswitch::ports
#endif  // SOCKSWITCH_HAVE_DPDK
