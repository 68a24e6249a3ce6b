// tests/control/l3_ports_switch_test.cc: what a running switch's L3 ports answer ARP for,
// and where a multi-queue tun's frames go.
//
// Plan. A host namespace runs an in-process Switch with bridge br0: two
// containers A (10.80.0.1/24) and B (10.80.0.2/24) on veths, and a tun port
// the switch creates in the host. The host gives the tun 10.80.0.100/32 and
// routes 10.80.0.0/24 through it, so the host is "behind" the tun and talks
// to the containers through the switch. Flows: actions=normal.
//
// (1) Claims: with no proxy list the tun answers for what the host routes
// through it; that route covers the containers' own subnet, so an explicit
// `proxy = ["10.80.0.100/32"]` is what the deployment says (the test then
// checks, by A's ARP, that the tun answers for 10.80.0.100 and never for
// B's or an absent neighbour's address, and that `show` says so). A route
// added later (198.51.100.0/24 through the tun, no proxy) is answered for
// after refresh_neighbor_claims(), the daemon's reaction to a route event.
// (2) Multi-queue: the tun has 4 queues; the kernel spreads the host's
// flows over them by hash. After A has talked to the host (the port learns
// A's MAC from what it transmits, on queue 0), 32 UDP flows from the host to
// A (32 source ports) must all reach A, and B must see none of them: a
// frame addressed by broadcast because its queue had not learned A would be
// flooded to B.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "control/config.h"
#include "ports/fd.h"
#include "tests/control/switch_host.h"
#include "tests/control/switch_thread.h"
#include "tests/net/in_namespace.h"
#include "tests/net/require_netns.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

struct TunBridge {
  SwitchHost host;
  std::string tun = net::unique_link_name('t');
  Container& a = host.plug("veth-a", "10.80.0.1/24");
  Container& b = host.plug("veth-b", "10.80.0.2/24");
  std::unique_ptr<SwitchThread> sw;

  explicit TunBridge(const std::string& tun_extra) {
    const std::string toml = fmt::format(
        "[[bridge]]\nname = \"br0\"\nflow = [\"actions=normal\"]\n"
        "[[bridge.port]]\nname = \"veth-a\"\n[[bridge.port]]\nname = \"veth-b\"\n"
        "[[bridge.port]]\nname = \"{}\"\ndriver = \"tun\"\nqueues = 4\n{}",
        tun, tun_extra);
    sw = std::make_unique<SwitchThread>(host.ns(), control::parse_config(toml, "<l3>"));
    host.ns().exec_checked({"ip", "addr", "add", "10.80.0.100/32", "dev", tun});
    host.ns().exec_checked({"ip", "link", "set", tun, "up"});
    host.ns().exec_checked({"ip", "route", "add", "10.80.0.0/24", "dev", tun});
    (void)sw->call([](control::Switch& s) { return s.refresh_neighbor_claims(); });
  }
  std::string show() {
    return sw->call([](control::Switch& s) { return s.show(); });
  }
  // Whether `ns` resolved `ip`, after trying for up to three seconds. A
  // neighbour entry left INCOMPLETE by an earlier try sends its next ARP
  // probe on the kernel's one-second timer, not at once: one ping of one
  // second could end just before the answer to that probe.
  static bool resolves(const Container& c, const std::string& ip) {
    for (int i = 0; i < 3; ++i) {
      (void)c.ns->exec({"ping", "-c", "1", "-W", "1", ip}, 3s);
      if (c.ns->exec({"ip", "neigh", "show", ip}, 3s).output.find("lladdr") != std::string::npos)
        return true;
    }
    return false;
  }
};

TEST(L3PortsSwitch, ATunAnswersArpOnlyForWhatLiesBehindIt) {
  SOCKSWITCH_REQUIRE_NETNS();
  TunBridge t("proxy = [\"10.80.0.100/32\"]\n");
  EXPECT_NE(t.show().find("answers ARP/ND for: 10.80.0.100/32 (proxy)"), std::string::npos)
      << t.show();
  EXPECT_TRUE(TunBridge::resolves(t.a, "10.80.0.100"));
  const auto ping = t.a.ns->exec({"ping", "-c", "2", "-i", "0.2", "-W", "1", "10.80.0.100"}, 4s);
  EXPECT_TRUE(ping.ok()) << ping.output;
  // B answers for itself; the tun must not (B's address is on the bridge's side).
  t.b.ns->exec_checked({"ip", "link", "set", "eth0", "down"});
  EXPECT_FALSE(TunBridge::resolves(t.a, "10.80.0.2")) << "the tun claimed B's address";
  EXPECT_FALSE(TunBridge::resolves(t.a, "10.80.0.77")) << "the tun claimed an absent host";
  // Every ARP request the tun took is named: answered itself, or learned
  // from and left for its owner (show and dump-ports both say so).
  const std::string show = t.show();
  EXPECT_NE(show.find("drops: l3.answered="), std::string::npos) << show;
  EXPECT_NE(show.find(", l3.consumed="), std::string::npos) << show;
  const std::string ports = t.sw->call([](control::Switch& s) { return s.dump_ports("br0"); });
  EXPECT_NE(ports.find("           drops: l3.answered="), std::string::npos) << ports;
}

TEST(L3PortsSwitch, ATunAnswersForTheHostsRoutesThroughItAndFollowsThem) {
  SOCKSWITCH_REQUIRE_NETNS();
  TunBridge t("");
  t.a.ns->exec_checked({"ip", "route", "add", "198.51.100.0/24", "dev", "eth0"});
  EXPECT_FALSE(TunBridge::resolves(t.a, "198.51.100.1")) << "nothing routes it through the tun";
  t.host.ns().exec_checked({"ip", "route", "add", "198.51.100.0/24", "dev", t.tun});
  EXPECT_EQ(t.sw->call([](control::Switch& s) { return s.refresh_neighbor_claims(); }), 1u);
  EXPECT_NE(t.show().find("10.80.0.0/24, 198.51.100.0/24 (kernel routes)"), std::string::npos)
      << t.show();
  EXPECT_TRUE(TunBridge::resolves(t.a, "198.51.100.1"));
}

TEST(L3PortsSwitch, AMultiQueueTunSendsEachFlowOnlyToItsHost) {
  SOCKSWITCH_REQUIRE_NETNS();
  TunBridge t("proxy = [\"10.80.0.100/32\"]\n");
  const auto ping = t.a.ns->exec({"ping", "-c", "2", "-i", "0.2", "-W", "1", "10.80.0.100"}, 4s);
  ASSERT_TRUE(ping.ok()) << ping.output;
  (void)t.a.wire->receive_ready();
  (void)t.b.wire->receive_ready();

  constexpr int kFlows = 32;
  net::in_namespace(t.host.ns(), [&] {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(9);
    ::inet_pton(AF_INET, "10.80.0.1", &to.sin_addr);
    for (int i = 0; i < kFlows; ++i) {
      const ports::Fd s = ports::Fd::socket(AF_INET, SOCK_DGRAM, 0, "udp");
      sockaddr_in from{};
      from.sin_family = AF_INET;
      from.sin_port = htons(static_cast<std::uint16_t>(41000 + i));
      ASSERT_EQ(::bind(s.get(), reinterpret_cast<const sockaddr*>(&from), sizeof from), 0);
      const char payload[] = "flow";
      ASSERT_EQ(::sendto(s.get(), payload, sizeof payload, 0,
                         reinterpret_cast<const sockaddr*>(&to), sizeof to),
                static_cast<ssize_t>(sizeof payload));
    }
  });
  // UDP to 10.80.0.1 port 9 from 10.80.0.100, as seen on a container's wire.
  auto flows_in = [](const std::vector<net::Frame>& frames) {
    std::set<int> ports;
    for (const net::Frame& f : frames)
      if (f.size() >= 42 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 17 && f[30] == 10 &&
          f[31] == 80 && f[32] == 0 && f[33] == 1 && f[36] == 0 && f[37] == 9)
        ports.insert(f[34] << 8 | f[35]);
    return ports;
  };
  std::set<int> at_a;
  (void)net::wait_until(
      [&] {
        for (int p : flows_in(t.a.wire->receive(200ms)))
          at_a.insert(p);
        return at_a.size() == kFlows;
      },
      3s);
  EXPECT_EQ(at_a.size(), static_cast<std::size_t>(kFlows));
  EXPECT_TRUE(flows_in(t.b.wire->receive(300ms)).empty()) << "flooded to B";
}

}  // namespace
}  // namespace sockswitch::test
