// tests/ports/tun_port_test.cc: L3 ports on real devices.
//
// Plan (TunPort): ns1 sits on a veth behind an AfPacketPort; ns2 owns a tun
// created by a TunPort and moved there, on the same IPv4/IPv6 subnets. ns1
// therefore ARPs / solicits for ns2's addresses on the bridge; only the
// adapter's answers (and its synthesised headers on the way back) make ping
// and TCP work, and the kernel in ns1 validates the NA checksum for real.
// Plan (AfPacketPort L3 mode): an AfPacketPort on a tun device whose other
// end is a queue fd held by the test: bare IP written to the fd comes out of
// rx_burst as an Ethernet frame, and a frame given to tx_burst arrives at the
// fd stripped. Super-frames (what the kernel's WireGuard hands on after GRO
// merged what it decrypted) are written with a virtio-net header to a tun
// opened with IFF_VNET_HDR: they come out whole, framed, their checksum
// field holding the pseudo-header sum, and cut into valid segments.
#include "ports/tun_port.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "dataplane/gso_segmenter.h"
#include "ports/af_packet_port.h"
#include "ports/fd.h"
#include "ports/tun_device.h"
#include "ports/virtio_net_header.h"
#include "tests/dataplane/offload_frames.h"
#include "tests/net/require_netns.h"
#include "tests/net/tcp_transfer.h"
#include "tests/ports/port_forwarder.h"

namespace sockswitch::ports {
namespace {

using namespace std::chrono_literals;
using test::net::NetNamespace;
using test::net::VethPair;

TEST(TunPort, PingAndTcpThroughTheL3Adapter) {
  SOCKSWITCH_REQUIRE_NETNS();
  NetNamespace ns1, ns2;
  VethPair v;
  v.plug_into(ns1, {"10.98.0.1/24", "fd00:98::1/64"});
  TunPort tun(test::net::unique_link_name('u'));
  ASSERT_EQ(tun.link_state(), LinkState::up);
  test::net::run_checked({"ip", "link", "set", tun.name(), "netns", ns2.name()});
  test::net::configure_link(ns2, tun.name(), {"10.98.0.2/24", "fd00:98::2/64"});
  AfPacketPort eth(v.outer());
  // What lies behind the tun, as the switch would publish it from a proxy list.
  std::vector<NeighborClaims::Route> behind = {{*ClaimPrefix::parse("10.98.0.2"), true},
                                               {*ClaimPrefix::parse("fd00:98::2"), true}};
  tun.l3_neighbors()->claims.publish(
      std::make_unique<NeighborClaims>(std::move(behind), NeighborClaims::Source::proxy));

  test::PortForwarder wire(eth, tun);
  auto r = ns1.exec({"ping", "-c", "3", "-i", "0.2", "-W", "1", "10.98.0.2"}, 5s);
  EXPECT_TRUE(r.ok()) << r.output;
  r = ns1.exec({"ping", "-c", "3", "-i", "0.2", "-W", "1", "fd00:98::2"}, 5s);
  EXPECT_TRUE(r.ok()) << r.output;
  constexpr std::size_t kBytes = 1'000'000;
  EXPECT_EQ(test::net::tcp_transfer(ns2, "10.98.0.2", ns1, 5003, kBytes, 8s), kBytes);
  wire.stop();

  const L3EthernetCounters c = tun.l3(0).counters();
  EXPECT_GE(c.arp_replies, 1u);
  EXPECT_GE(c.nd_replies, 1u);
  // ns1 resolved ns2's address to the port's MAC.
  r = ns1.exec({"ip", "neigh", "show", "10.98.0.2"}, 3s);
  char mac[18];
  const auto m = tun.mac().bits;
  std::snprintf(mac, sizeof mac, "%02x:%02x:%02x:%02x:%02x:%02x", unsigned(m >> 40 & 0xff),
                unsigned(m >> 32 & 0xff), unsigned(m >> 24 & 0xff), unsigned(m >> 16 & 0xff),
                unsigned(m >> 8 & 0xff), unsigned(m & 0xff));
  EXPECT_NE(r.output.find(mac), std::string::npos) << r.output << " lacks " << mac;
}

TEST(AfPacketPortL3, BareIpDeviceGetsEthernetFraming) {
  SOCKSWITCH_REQUIRE_NETNS();
  const std::string name = test::net::unique_link_name('l');
  const TunDevice far = TunDevice::open(name, {TunKind::tun, 1, true});
  test::net::run_checked({"sysctl", "-qw", "net.ipv6.conf." + name + ".disable_ipv6=1"});
  test::net::run_checked({"ip", "link", "set", name, "up"});
  const packet::MacAddr mac{0x02000000beef};
  AfPacketPort port(name, {.l3_mac = mac});
  ASSERT_TRUE(port.is_l3());
  ASSERT_EQ(port.link_state(), LinkState::up);
  packet::PacketPool pool(64);

  // Device -> bridge: an IPv4/UDP packet becomes a broadcast Ethernet frame.
  std::vector<std::uint8_t> ip = {0x45, 0, 0,  28, 0, 1, 0, 0, 64, 17, 0, 0, 10, 96,
                                  0,    2, 10, 96, 0, 1, 0, 7, 0,  9,  0, 8, 0,  0};
  ASSERT_EQ(::write(far.fd(0), ip.data(), ip.size()), ssize_t(ip.size()));
  std::array<packet::Packet*, 8> out{};
  std::size_t n = 0;
  ASSERT_TRUE(test::net::wait_until([&] { return (n = port.rx_burst(0, pool, out)) > 0; }, 3s));
  ASSERT_EQ(n, 1u);
  const std::uint8_t* f = out[0]->data();
  ASSERT_EQ(out[0]->length(), ip.size() + 14);
  EXPECT_TRUE(std::all_of(f, f + 6, [](std::uint8_t b) { return b == 0xff; }));
  EXPECT_EQ(f[6], 0x02);
  EXPECT_EQ(f[11], 0xef);
  EXPECT_EQ(f[12], 0x08);
  EXPECT_EQ(0, std::memcmp(f + 14, ip.data(), ip.size()));

  // Bridge -> device: the same frame, addressed back, arrives as bare IP.
  port.tx_burst(0, pool, std::span(out).first(1));
  EXPECT_EQ(port.counters().tx_packets, 1u);
  pollfd p{far.fd(0), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 3000), 1);
  std::uint8_t buf[2048];
  const ssize_t got = ::read(far.fd(0), buf, sizeof buf);
  ASSERT_EQ(got, ssize_t(ip.size()));
  EXPECT_EQ(0, std::memcmp(buf, ip.data(), ip.size()));
  EXPECT_EQ(pool.available(), pool.size());
}

// A tun whose writes carry a virtio-net header, as the kernel's own L3
// devices hand GRO'd super-frames to the stack.
Fd open_vnet_tun(const std::string& name) {
  Fd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (fd.get() < 0) return fd;
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
  if (::ioctl(fd.get(), TUNSETIFF, &ifr) != 0) return Fd();
  return fd;
}

TEST(AfPacketPortL3, SuperFramesComeWholeAndAreCutIntoValidSegments) {
  SOCKSWITCH_REQUIRE_NETNS();
  const std::string name = test::net::unique_link_name('l');
  const Fd far = open_vnet_tun(name);
  ASSERT_GE(far.get(), 0) << "cannot open a tun with IFF_VNET_HDR";
  test::net::run_checked({"sysctl", "-qw", "net.ipv6.conf." + name + ".disable_ipv6=1"});
  test::net::run_checked({"ip", "link", "set", name, "up"});
  AfPacketPort port(name, {.l3_mac = packet::MacAddr{0x02000000beef}});
  ASSERT_TRUE(port.is_l3());
  packet::PacketPool pool(256);

  struct Case {
    bool ipv6, udp, needs_checksum;
  };
  for (const Case c : {Case{false, false, true}, Case{true, false, true}, Case{false, true, true},
                       Case{false, false, false}}) {
    SCOPED_TRACE(fmt::format("ipv6={} udp={} needs_checksum={}", c.ipv6, c.udp, c.needs_checksum));
    dataplane::test::OffloadFrame big = dataplane::test::offload_frame(c.ipv6, c.udp, 3000);
    const std::uint16_t complete = big.stored();
    if (c.needs_checksum) big.make_partial();  // as GRO leaves it
    VirtioNetHeader h;
    h.gso_type = c.udp    ? VirtioNetHeader::kGsoUdpL4
                 : c.ipv6 ? VirtioNetHeader::kGsoTcpV6
                          : VirtioNetHeader::kGsoTcpV4;
    h.gso_size = 1000;
    h.hdr_len = static_cast<std::uint16_t>(big.l4 - big.l3 + (c.udp ? 8 : 20));
    if (c.needs_checksum) {
      h.flags = VirtioNetHeader::kNeedsChecksum;
      h.csum_start = static_cast<std::uint16_t>(big.l4 - big.l3);
      h.csum_offset = static_cast<std::uint16_t>(big.checksum_at - big.l4);
    }
    std::vector<std::uint8_t> wire(reinterpret_cast<const std::uint8_t*>(&h),
                                   reinterpret_cast<const std::uint8_t*>(&h) + sizeof h);
    wire.insert(wire.end(), big.bytes.begin() + static_cast<std::ptrdiff_t>(big.l3),
                big.bytes.end());
    ASSERT_EQ(::write(far.get(), wire.data(), wire.size()), ssize_t(wire.size()))
        << std::strerror(errno);

    std::array<packet::Packet*, 8> out{};
    std::size_t n = 0;
    ASSERT_TRUE(test::net::wait_until([&] { return (n = port.rx_burst(0, pool, out)) > 0; }, 3s));
    ASSERT_EQ(n, 1u);
    packet::Packet& p = *out[0];
    ASSERT_TRUE(p.is_gso());
    EXPECT_EQ(p.gso().kind, c.udp ? wire::GsoKind::udp_l4 : wire::GsoKind::tcp);
    EXPECT_EQ(p.gso().segment_payload, 1000);
    ASSERT_EQ(p.length(), big.bytes.size());
    EXPECT_EQ(p.data()[12], c.ipv6 ? 0x86 : 0x08);
    dataplane::test::OffloadFrame got = big;
    got.bytes.assign(p.data(), p.data() + p.length());
    EXPECT_EQ(got.stored(), dataplane::test::plain_fold(big.pseudo_sum()))
        << "the field of a frame sent on whole must hold the pseudo-header sum (it held "
        << (c.needs_checksum ? "it" : fmt::format("{:#x}", complete)) << ")";
    EXPECT_EQ(0,
              std::memcmp(p.data() + big.l3, big.bytes.data() + big.l3, big.checksum_at - big.l3));

    std::array<packet::Packet*, 8> segments{};
    const std::size_t k = dataplane::segment_gso(p, pool, segments);
    ASSERT_EQ(k, 3u);
    for (std::size_t i = 0; i < k; ++i) {
      dataplane::test::OffloadFrame s = big;
      s.bytes.assign(segments[i]->data(), segments[i]->data() + segments[i]->length());
      EXPECT_TRUE(s.l4_valid()) << "segment " << i;
      EXPECT_TRUE(s.ipv4_header_valid()) << "segment " << i;
    }
    pool.free_burst(std::span(segments).first(k));
    pool.free(&p);
  }
  EXPECT_EQ(port.counters().rx_errors, 0u);
  EXPECT_EQ(port.counters().rx_gso_whole, 4u);
  EXPECT_EQ(pool.available(), pool.size());
}

}  // namespace
}  // namespace sockswitch::ports
