// tests/ports/port_factory_test.cc: driver names map to drivers; unknown ones are named.
#include "ports/port_factory.h"

#include <gtest/gtest.h>

#include "ports/af_packet_port.h"
#include "ports/af_xdp_port.h"
#include "ports/tap_port.h"
#include "ports/tun_port.h"
#include "ports/wireguard_port.h"
#include "tests/net/in_namespace.h"
#include "tests/net/require_netns.h"
#include "tests/net/skip.h"
#include "tests/net/wireguard_go.h"
#include "tests/ports/two_namespaces.h"

namespace sockswitch::ports {
namespace {

TEST(PortFactory, UnknownDriverIsNamed) {
  try {
    (void)make_port({.name = "p0", .driver = "token-ring"});
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'token-ring'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("p0"), std::string::npos) << e.what();
  }
}

TEST(PortFactory, RejectsOptionsADriverCannotHonour) {
  EXPECT_THROW((void)make_port({.name = "p0", .driver = "af_packet", .queues = 2}),
               std::invalid_argument);
  EXPECT_THROW((void)make_port({.name = "p0", .driver = "tap", .mac = packet::MacAddr{2}}),
               std::invalid_argument);
}

TEST(PortFactory, WireguardNeedsItsParsedFileAndOneQueue) {
  EXPECT_THROW((void)make_port({.name = "wg0", .driver = "wireguard"}), std::invalid_argument);
  SOCKSWITCH_REQUIRE_NETNS();
  if (auto why = test::net::wireguard_go_missing()) SOCKSWITCH_SKIP(*why);  // for `wg genkey`
  auto config = std::make_shared<const wireguard::WgConfig>(wireguard::parse_wg_config(
      "[Interface]\nPrivateKey = " + test::net::make_wg_keys().private_key + "\n", "<test>"));
  const std::string name = test::net::unique_link_name('f');
  EXPECT_THROW(
      (void)make_port({.name = name, .driver = "wireguard", .queues = 2, .wg_config = config}),
      std::invalid_argument);
  test::net::NetNamespace ns;
  auto wg = test::net::in_namespace(
      ns, [&] { return make_port({.name = name, .driver = "wireguard", .wg_config = config}); });
  auto* port = dynamic_cast<WireGuardPort*>(wg.get());
  ASSERT_NE(port, nullptr);
  EXPECT_NE(port->listen_port(), 0);  // no ListenPort: the kernel chose one
  EXPECT_EQ(port->mac(), L3Ethernet::mac_for_name(name));
  EXPECT_EQ(port->uapi()->path(), "/var/run/wireguard/" + name + ".sock");
}

TEST(PortFactory, BuildsEachDriver) {
  SOCKSWITCH_REQUIRE_NETNS();
  const std::string missing = test::net::unique_link_name('f');
  auto af = make_port({.name = missing, .driver = "af_packet"});
  EXPECT_NE(dynamic_cast<AfPacketPort*>(af.get()), nullptr);
  EXPECT_EQ(af->link_state(), LinkState::down);  // no such device yet

  auto tap = make_port({.name = test::net::unique_link_name('f'), .driver = "tap", .queues = 2});
  EXPECT_NE(dynamic_cast<TapPort*>(tap.get()), nullptr);
  EXPECT_EQ(tap->queue_count(), 2);
  EXPECT_EQ(tap->link_state(), LinkState::up);

  const packet::MacAddr mac{0x020000000042};
  auto tun = make_port({.name = test::net::unique_link_name('f'), .driver = "tun", .mac = mac});
  auto* t = dynamic_cast<TunPort*>(tun.get());
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->mac(), mac);
}

// `auto` takes AF_XDP only while the poll thread's pool can give every
// ring its full share: a ring added beside full, idle ones would get no
// buffers, so the port it would have been becomes AF_PACKET and forwards.
// (Two-queue veths: on a one-queue veth `auto` takes AF_PACKET anyway.)
TEST(PortFactory, AutoUsesAfPacketWhenThePoolHasNoRoomForAnotherRing) {
  SOCKSWITCH_REQUIRE_NETNS();
  test::TwoNamespaces net(95, 2);
  // 1 792 lendable packets: room for three rings at their full share.
  const auto pool = std::make_shared<packet::PacketPool>(2048);
  ASSERT_EQ(packet::PacketPool::kMaxLendShare, 512u);
  auto first = make_port({.name = net.v1->outer(), .driver = "auto", .queues = 2, .pool = pool});
  auto second = make_port({.name = net.v2->outer(), .driver = "auto", .queues = 2, .pool = pool});
  EXPECT_NE(dynamic_cast<AfXdpPort*>(first.get()), nullptr);
  EXPECT_NE(dynamic_cast<AfPacketPort*>(second.get()), nullptr);
  EXPECT_FALSE(pool->overcommitted()) << "the refused AF_XDP port left its lending behind";
}

}  // namespace
}  // namespace sockswitch::ports
