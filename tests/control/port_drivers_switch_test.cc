// tests/control/port_drivers_switch_test.cc: every netdev port driver carrying real traffic
// through the running switch, on one bridge and across a patch-port pair.
//
// Plan. Configure: an in-process control::Switch (SwitchThread) inside a
// fresh host namespace, built from TOML text, with two ports of one driver:
//   * af_xdp, af_packet: the host ends "pa"/"pb" of veths whose inner ends
//     are eth0 of containers A (10.61.0.1/24) and B (10.61.0.2/24);
//   * dpdk: ports "dpdk-a"/"dpdk-b" on net_af_packet vdevs bound to pa/pb;
//   * tap: the switch creates taps "tapa"/"tapb" in the host namespace, the
//     test moves them into A and B and configures them there, and the
//     switch's hotplug check (refresh_ports) runs once afterwards, as the
//     daemon's would, without losing the moved devices.
// Two layouts: one bridge with both ports and `actions=normal`; or each
// port on its own bridge, the bridges joined by patch ports p0/p1 and
// `actions=normal` on both; or one bridge of multi-queue ports (af_xdp on
// veths of four queues each way, a socket per queue, or four-queue taps).
// Send: 3 pings (-W 1) from A to B, then a 1 MB TCP stream from A to B, and
// with multi-queue ports eight more streams, each a new 5-tuple. Verify:
// every ping answered, every byte counted by the receiver, and the switch's
// port counters saw the stream (the only path between A and B is the
// switch).
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cctype>
#include <cstdio>
#include <memory>
#include <string>

#include "control/config.h"
#include "tests/control/switch_host.h"
#include "tests/control/switch_thread.h"
#include "tests/net/require_netns.h"
#include "tests/net/skip.h"
#include "tests/net/tcp_transfer.h"
#include "tests/net/udp_stream.h"
#ifdef SOCKSWITCH_HAVE_DPDK
#include "ports/dpdk_eal.h"
#endif

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kBytes = 1'000'000;

struct Case {
  std::string driver;   // af_xdp | af_packet | tap | dpdk
  bool patch;           // each namespace on its own bridge, bridges joined by patch ports
  unsigned queues = 1;  // > 1: multi-queue devices (veths of that many queues, or taps)
};

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return fmt::format("{}{}{}", info.param.driver, info.param.patch ? "_Patch" : "_OneBridge",
                     info.param.queues > 1 ? fmt::format("_{}Queues", info.param.queues) : "");
}

// One [[bridge.port]] table for side "a" or "b".
std::string port_table(const std::string& driver, char side, unsigned queues) {
  const std::string veth = std::string("p") + side;
  if (driver == "tap")
    return fmt::format("[[bridge.port]]\nname = \"tap{}\"\ndriver = \"tap\"\nqueues = {}\n", side,
                       queues);
  if (driver == "dpdk") {
    static int vdev = 0;  // vdev names are unique per process
    return fmt::format(
        "[[bridge.port]]\nname = \"dpdk-{}\"\ndriver = \"dpdk\"\n"
        "dpdk_devargs = \"net_af_packet{},iface={}\"\n",
        side, vdev++, veth);
  }
  return fmt::format("[[bridge.port]]\nname = \"{}\"\ndriver = \"{}\"\n", veth, driver);
}

std::string driver_config_text(const Case& c) {
  constexpr const char* kBridge = "[[bridge]]\nname = \"{}\"\nflow = [\"actions=normal\"]\n";
  if (!c.patch)
    return fmt::format(kBridge, "br0") + port_table(c.driver, 'a', c.queues) +
           port_table(c.driver, 'b', c.queues);
  constexpr const char* kPatch =
      "[[bridge.port]]\nname = \"{}\"\ndriver = \"patch\"\npeer = \"{}\"\n";
  return fmt::format(kBridge, "br0") + port_table(c.driver, 'a', c.queues) +
         fmt::format(kPatch, "p0", "p1") + fmt::format(kBridge, "br1") +
         port_table(c.driver, 'b', c.queues) + fmt::format(kPatch, "p1", "p0");
}

// "rx pkts=N, bytes=M" of `port` in `dump-ports` text; 0 when absent.
std::uint64_t rx_bytes(const std::string& dump, const std::string& port) {
  const std::size_t at = dump.find(": " + port + " (");
  if (at == std::string::npos) return 0;
  const std::size_t rx = dump.find("rx pkts=", at);
  unsigned long long pkts = 0, bytes = 0;
  if (rx == std::string::npos ||
      std::sscanf(dump.c_str() + rx, "rx pkts=%llu, bytes=%llu", &pkts, &bytes) != 2)
    return 0;
  return bytes;
}

// "N <what>" on the offloads line under `port` in `show` text; 0 when absent.
std::uint64_t offload_count(const std::string& show, const std::string& port,
                            const std::string& what) {
  const std::size_t at = show.find(": " + port + " ");
  if (at == std::string::npos) return 0;
  const std::size_t next = show.find('\n', at);
  const std::string offloads = "offloads:";
  if (next == std::string::npos ||
      show.compare(show.find_first_not_of(' ', next + 1), offloads.size(), offloads) != 0)
    return 0;
  const std::size_t end = show.find('\n', next + 1);
  const std::size_t counts = show.rfind('(', end);  // "(N checksums finished, M segments cut, ...)"
  const std::size_t label = show.find(" " + what, counts);
  if (label == std::string::npos || label > end) return 0;
  std::size_t digits = label;
  while (digits > 0 && std::isdigit(static_cast<unsigned char>(show[digits - 1])))
    --digits;
  return digits == label ? 0 : std::stoull(show.substr(digits, label - digits));
}

class PortDriversSwitch : public ::testing::TestWithParam<Case> {};

TEST_P(PortDriversSwitch, PingAndTcpBetweenNamespaces) {
  SOCKSWITCH_REQUIRE_NETNS();
  const Case& c = GetParam();
#ifdef SOCKSWITCH_HAVE_DPDK
  if (c.driver == "dpdk") {
    try {
      ports::DpdkEal::ensure_started();
    } catch (const std::system_error& e) {
      SOCKSWITCH_SKIP(std::string("the DPDK EAL cannot start here: ") + e.what());
    }
  }
#else
  if (c.driver == "dpdk") SOCKSWITCH_SKIP("built without DPDK (libdpdk not found)");
#endif
  SwitchHost host;
  const net::NetNamespace* a = nullptr;
  const net::NetNamespace* b = nullptr;
  std::unique_ptr<net::NetNamespace> tap_a, tap_b;
  if (c.driver != "tap") {
    // DPDK's net_af_packet vdev stands in for a NIC here, and a NIC never
    // hands over frames with checksums or segmentation left to do.
    const auto offloads = c.driver == "dpdk" ? SenderOffloads::off : SenderOffloads::kernel_default;
    a = host.plug("pa", "10.61.0.1/24", c.queues, offloads).ns.get();
    b = host.plug("pb", "10.61.0.2/24", c.queues, offloads).ns.get();
  }
  SwitchThread sw(host.ns(), control::parse_config(driver_config_text(c), "<" + c.driver + ">"));
  if (c.driver == "tap") {
    // The daemon's hotplug check runs once a second from the start: it has
    // seen the taps in the host namespace before they move.
    sw.call([](control::Switch& s) { return s.refresh_ports(); });
    tap_a = std::make_unique<net::NetNamespace>();
    tap_b = std::make_unique<net::NetNamespace>();
    a = tap_a.get();
    b = tap_b.get();
    for (auto [tap, ns, cidr] :
         {std::tuple{"tapa", a, "10.61.0.1/24"}, std::tuple{"tapb", b, "10.61.0.2/24"}}) {
      disable_ipv6(*ns);
      net::run_checked({"ip", "-n", host.ns().name(), "link", "set", tap, "netns", ns->name()});
      net::configure_link(*ns, tap, {cidr});
    }
    // Now they are gone from its namespace: the check must keep them.
    EXPECT_EQ(sw.call([](control::Switch& s) { return s.refresh_ports(); }), 2u);
  }
  const std::string show = sw.call([](control::Switch& s) { return s.show(); });
  EXPECT_EQ(show.find(" down"), std::string::npos) << show;

  const auto ping = a->exec({"ping", "-c", "3", "-i", "0.2", "-W", "1", "10.61.0.2"}, 6s);
  EXPECT_TRUE(ping.ok()) << ping.output << show;
  EXPECT_EQ(net::tcp_transfer(*b, "10.61.0.2", *a, 5001, kBytes, 8s), kBytes);

  const std::string port_a = c.driver == "tap" ? "tapa" : c.driver == "dpdk" ? "dpdk-a" : "pa";

  // UDP from sockets whose checksums the kernel left to offload: a receiver
  // drops every datagram the switch did not finish.
  const auto udp = net::udp_stream(*a, *b, {.to_addr = "10.61.0.2", .count = 200});
  EXPECT_TRUE(udp.path_up);
  // Unfinished checksums lose every datagram; a loaded machine may lose a few.
  EXPECT_GE(udp.received, udp.sent / 2) << "UDP datagrams lost: checksums unfinished?";
  if (c.driver == "af_xdp" || c.driver == "af_packet") {
    // The containers kept their default offloads: the switch did the work.
    const std::string after = sw.call([](control::Switch& s) { return s.show(); });
    EXPECT_GT(offload_count(after, port_a, "checksums finished"), 0u) << after;
    if (c.driver == "af_packet") {
      // The sender's GSO frames stay whole to the other AF_PACKET port; a
      // patch port takes none, so they are cut for it.
      EXPECT_GT(offload_count(after, port_a, "GSO frames kept whole"), 0u) << after;
      if (c.patch) {
        EXPECT_GT(offload_count(after, "p0", "segments cut to send"), 0u) << after;
      }
    }
  }
  const std::string dump = sw.call([](control::Switch& s) { return s.dump_ports("br0"); });
  EXPECT_GT(rx_bytes(dump, port_a), kBytes) << dump;
  if (c.patch) {
    // How many ACKs a megabyte earns depends on the receiver's GRO and
    // delayed ACKs (119 for 900 segments in one CI run); one ACK per 64 KB
    // aggregate plus the ping replies still passes 1 000 bytes.
    EXPECT_GT(rx_bytes(dump, "p0"), 1'000u) << "the ACKs come back over the patch\n" << dump;
    const std::string dump1 = sw.call([](control::Switch& s) { return s.dump_ports("br1"); });
    EXPECT_GT(rx_bytes(dump1, "p1"), kBytes) << dump1;
  }
  if (c.queues > 1) {
    // The kernel spreads flows over the queues by hash; a queue the poll
    // thread did not poll would swallow every stream hashed onto it (odds
    // that eight streams all land on queue 0 of four: 1 in 65 536).
    EXPECT_EQ(sw.call([&](control::Switch& s) { return s.rx_queues("br0", port_a); }), c.queues);
    EXPECT_NE(dump.find(fmt::format("link up, {} queues)", c.queues)), std::string::npos) << dump;
    constexpr std::size_t kStream = 200'000;
    for (std::uint16_t i = 0; i < 8; ++i)
      EXPECT_EQ(
          net::tcp_transfer(*b, "10.61.0.2", *a, static_cast<std::uint16_t>(5201 + i), kStream, 5s),
          kStream)
          << "stream " << i << " (each a new 5-tuple)";
  }
}

// A container behind an AF_PACKET port sends GSO frames; the other one
// sits behind AF_XDP, which takes none: they are cut for it, and the
// stream arrives intact both ways.
TEST(PortDriversMixed, GsoFramesFromAfPacketAreCutForAnAfXdpPort) {
  SOCKSWITCH_REQUIRE_NETNS();
  SwitchHost host;
  const auto& a = *host.plug("pa", "10.62.0.1/24", 1, SenderOffloads::kernel_default).ns;
  const auto& b = *host.plug("pb", "10.62.0.2/24", 1, SenderOffloads::kernel_default).ns;
  SwitchThread sw(host.ns(), control::parse_config("[[bridge]]\nname = \"br0\"\n"
                                                   "flow = [\"actions=normal\"]\n" +
                                                       port_table("af_packet", 'a', 1) +
                                                       port_table("af_xdp", 'b', 1),
                                                   "<mixed>"));
  EXPECT_EQ(net::tcp_transfer(b, "10.62.0.2", a, 5001, 4 * kBytes, 10s), 4 * kBytes);
  EXPECT_EQ(net::tcp_transfer(a, "10.62.0.1", b, 5002, kBytes, 8s), kBytes);
  const std::string show = sw.call([](control::Switch& s) { return s.show(); });
  EXPECT_GT(offload_count(show, "pa", "GSO frames kept whole"), 0u) << show;
  EXPECT_GT(offload_count(show, "pb", "segments cut to send"), 0u) << show;
}

// AF_PACKET only taps a device: without a fence, the switch's host would
// answer a container's ARP for its own addresses from the veth's host end
// (and take the container's traffic past the switch). Checked for an
// explicit af_packet port and for `auto`, which puts a veth there.
TEST(PortDriversFence, TheHostsStackNeverAnswersThroughAPortsDevice) {
  SOCKSWITCH_REQUIRE_NETNS();
  SwitchHost host;
  const auto& a = *host.plug("pa", "10.63.0.1/24", 1, SenderOffloads::kernel_default).ns;
  const auto& b = *host.plug("pb", "10.63.0.2/24", 1, SenderOffloads::kernel_default).ns;
  // An address of the host's own, on a device that is not on the switch.
  const std::string h = host.ns().name();
  net::run_checked({"ip", "-n", h, "link", "add", "hf0", "type", "veth", "peer", "name", "hf1"});
  net::run_checked({"ip", "-n", h, "addr", "add", "10.63.0.254/32", "dev", "hf0"});
  net::run_checked({"ip", "-n", h, "link", "set", "hf0", "up"});
  SwitchThread sw(host.ns(), control::parse_config("[[bridge]]\nname = \"br0\"\n"
                                                   "flow = [\"actions=normal\"]\n" +
                                                       port_table("af_packet", 'a', 1) +
                                                       port_table("auto", 'b', 1),
                                                   "<fence>"));
  const std::string show = sw.call([](control::Switch& s) { return s.show(); });
  ASSERT_NE(show.find("(af_packet): pa up"), std::string::npos) << show;
  ASSERT_NE(show.find("(auto, af_packet): pb up"), std::string::npos) << show;
  for (const net::NetNamespace* ns : {&a, &b}) {
    EXPECT_FALSE(ns->exec({"ping", "-c", "2", "-i", "0.3", "-W", "1", "10.63.0.254"}, 5s).ok());
    const auto neigh = ns->exec({"ip", "neigh", "show", "10.63.0.254"}, 2s);
    EXPECT_EQ(neigh.output.find("lladdr"), std::string::npos)
        << "the host answered ARP through the port's device: " << neigh.output;
  }
  EXPECT_TRUE(a.exec({"ping", "-c", "2", "-i", "0.3", "-W", "1", "10.63.0.2"}, 5s).ok())
      << "the switch still forwards";
}

INSTANTIATE_TEST_SUITE_P(Drivers, PortDriversSwitch,
                         ::testing::Values(Case{"af_xdp", false}, Case{"af_xdp", true},
                                           Case{"af_packet", false}, Case{"af_packet", true},
                                           Case{"tap", false}, Case{"tap", true},
                                           Case{"dpdk", false}, Case{"dpdk", true},
                                           Case{"af_xdp", false, 4}, Case{"tap", false, 4}),
                         case_name);

}  // namespace
}  // namespace sockswitch::test
