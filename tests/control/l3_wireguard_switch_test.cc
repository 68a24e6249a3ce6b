// tests/control/l3_wireguard_switch_test.cc: a real WireGuard interface (wireguard-go) as an
// L3 port of the running switch.
//
// Plan. Configure: a fresh host namespace runs an in-process control::Switch
// (SwitchThread). Container A (eth0 10.62.0.1/24, MTU 1420 to fit the
// tunnel, route to 198.51.100.0/24 via 10.62.0.254) hangs off the host's
// veth "veth-a". A WireGuard link joins the host and namespace B: each side
// runs wireguard-go (WG_PROCESS_FOREGROUND=1, in the background, killed at
// the end and on the test's death), configured with `wg set` and `ip link
// set up`, over a UDP underlay on a veth between host (192.0.2.1/30) and B
// (192.0.2.2/30). The host's wg interface (standing for the seed's warp0,
// with a per-run name so that concurrent runs do not share a UAPI socket in
// /var/run/wireguard) has no address and AllowedIPs 198.51.100.1/32; B's
// holds 198.51.100.1/32, AllowedIPs 10.62.0.0/24 and a route back to A's
// subnet. Both veth-a and the wg interface are bridge ports with driver
// "auto": the veth gets AF_XDP, the wg interface (link type none) must fall
// back to AF_PACKET in L3 mode, answering A's ARP for what lies behind it
// and adding or stripping the Ethernet header. (a) `actions=normal`; the
// host routes 198.51.100.0/24 through the wg interface and A reaches it
// on-link, so the port answers for 198.51.100.1 from the kernel's routes
// (and for nothing in A's own subnet). (b) only `in_port=veth-a,actions=
// output:WG` and `in_port=WG,actions=output:veth-a`; A's route is via
// 10.62.0.254, which the port claims by `proxy = ["10.62.0.254"]`.
// Send: 3 pings (-W 1) from A to 198.51.100.1, then a 1 MB TCP stream from A
// to B. Verify: every ping answered, every byte counted by B's server, and
// the wg port's counters saw the traffic both ways.
// Skips (with the reason) when wireguard-go, wg or /dev/net/tun is missing
// or wireguard-go cannot bring its interface up here.
#include <fmt/format.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "control/config.h"
#include "tests/control/switch_host.h"
#include "tests/control/switch_thread.h"
#include "tests/net/require_netns.h"
#include "tests/net/skip.h"
#include "tests/net/tcp_transfer.h"
#include "tests/net/wireguard_go.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kTunnelBytes = 1'000'000;

// The host (switch) side of the tunnel and namespace B behind it.
class WireguardLink final {
 public:
  explicit WireguardLink(const SwitchHost& host) : host_(host.ns()) {
    disable_ipv6(b_);
    net::run_checked({"ip", "-n", host_.name(), "link", "add", "ul0", "type", "veth", "peer",
                      "name", "ul1", "netns", b_.name()});
    net::configure_link(host_, "ul0", {"192.0.2.1/30"});
    net::configure_link(b_, "ul1", {"192.0.2.2/30"});
    here_ = std::make_unique<net::WireguardGo>(host_, net::unique_link_name('w'));
    there_ = std::make_unique<net::WireguardGo>(b_, net::unique_link_name('w'));
  }

  // Waits for both interfaces and configures them; the reason on failure.
  std::optional<std::string> configure() {
    for (net::WireguardGo* wg : {here_.get(), there_.get()})
      if (auto why = wg->wait_ready()) return why;
    const net::WgKeyPair mine = net::make_wg_keys(), theirs = net::make_wg_keys();
    const net::SecretFile my_key(mine.private_key), their_key(theirs.private_key);
    here_->set({"private-key", my_key.path(), "listen-port", "51821", "peer", theirs.public_key,
                "endpoint", "192.0.2.2:51820", "allowed-ips", "198.51.100.1/32"});
    host_.exec_checked({"ip", "link", "set", here_->name(), "up"});
    there_->set({"private-key", their_key.path(), "listen-port", "51820", "peer", mine.public_key,
                 "allowed-ips", "10.62.0.0/24"});
    net::configure_link(b_, there_->name(), {"198.51.100.1/32"});
    b_.exec_checked({"ip", "route", "add", "10.62.0.0/24", "dev", there_->name()});
    return std::nullopt;
  }

  [[nodiscard]] const std::string& port() const noexcept { return here_->name(); }
  [[nodiscard]] const net::NetNamespace& b() const noexcept { return b_; }
  [[nodiscard]] std::string logs() const {
    return "wireguard-go (host):\n" + here_->log() + "wireguard-go (B):\n" + there_->log();
  }

 private:
  const net::NetNamespace& host_;
  net::NetNamespace b_;
  std::unique_ptr<net::WireguardGo> here_, there_;
};

// "rx pkts=N, bytes=M / tx pkts=..." of `port` in dump-ports text.
std::pair<std::uint64_t, std::uint64_t> rx_tx_packets(const std::string& dump,
                                                      const std::string& port) {
  const std::size_t at = dump.find(": " + port + " (");
  if (at == std::string::npos) return {0, 0};
  unsigned long long rx = 0, tx = 0;
  const std::size_t r = dump.find("rx pkts=", at), t = dump.find("tx pkts=", at);
  if (r == std::string::npos || t == std::string::npos) return {0, 0};
  std::sscanf(dump.c_str() + r, "rx pkts=%llu", &rx);
  std::sscanf(dump.c_str() + t, "tx pkts=%llu", &tx);
  return {rx, tx};
}

// How A reaches 198.51.100.0/24 and what the wg port is told of it.
enum class Behind : std::uint8_t { host_route, proxied_gateway };

void expect_a_reaches_b(const std::function<std::string(const std::string& wg)>& flows,
                        Behind behind) {
  SOCKSWITCH_REQUIRE_NETNS();
  if (auto why = net::wireguard_go_missing()) SOCKSWITCH_SKIP(*why);
  SwitchHost host;
  Container& a = host.plug("veth-a", "10.62.0.1/24");
  a.ns->exec_checked({"ip", "link", "set", "eth0", "mtu", "1420"});  // the tunnel's MTU
  if (behind == Behind::host_route)
    a.ns->exec_checked({"ip", "route", "add", "198.51.100.0/24", "dev", "eth0"});
  else
    a.ns->exec_checked({"ip", "route", "add", "198.51.100.0/24", "via", "10.62.0.254"});
  WireguardLink wg(host);
  if (auto why = wg.configure()) SOCKSWITCH_SKIP(*why);
  if (behind == Behind::host_route)
    host.ns().exec_checked({"ip", "route", "add", "198.51.100.0/24", "dev", wg.port()});

  const std::string toml = fmt::format(
      "[[bridge]]\nname = \"br0\"\nflow = [{}]\n"
      "[[bridge.port]]\nname = \"veth-a\"\n"
      "[[bridge.port]]\nname = \"{}\"\n{}",
      flows(wg.port()), wg.port(),
      behind == Behind::proxied_gateway ? "proxy = [\"10.62.0.254\"]\n" : "");
  SwitchThread sw(host.ns(), control::parse_config(toml, "<wireguard>"));
  const std::string show = sw.call([](control::Switch& s) { return s.show(); });
  ASSERT_EQ(show.find(" down"), std::string::npos) << show << wg.logs();

  const auto ping = a.ns->exec({"ping", "-c", "3", "-i", "0.2", "-W", "1", "198.51.100.1"}, 6s);
  EXPECT_TRUE(ping.ok()) << ping.output << show << wg.logs();
  EXPECT_EQ(net::tcp_transfer(wg.b(), "198.51.100.1", *a.ns, 5003, kTunnelBytes, 10s), kTunnelBytes)
      << wg.logs();

  const std::string dump = sw.call([](control::Switch& s) { return s.dump_ports("br0"); });
  const auto [rx, tx] = rx_tx_packets(dump, wg.port());
  EXPECT_GT(tx, 700u) << "the stream (MTU-sized segments) leaves through the wg port\n" << dump;
  EXPECT_GT(rx, 3u) << "pings answered and ACKs come back through it\n" << dump;

  // The port answered for what lies behind it, and never for A's neighbours.
  (void)a.ns->exec({"ping", "-c", "1", "-W", "1", "10.62.0.77"}, 3s);
  const auto neighbour = a.ns->exec({"ip", "neigh", "show", "10.62.0.77"}, 3s);
  EXPECT_EQ(neighbour.output.find("lladdr"), std::string::npos) << neighbour.output;
  EXPECT_NE(show.find(behind == Behind::host_route ? "198.51.100.0/24 (kernel routes)"
                                                   : "10.62.0.254/32 (proxy)"),
            std::string::npos)
      << show;
}

TEST(L3WireguardSwitch, NormalCarriesPingAndTcpOverWireguardGo) {
  expect_a_reaches_b([](const std::string&) { return std::string("\"actions=normal\""); },
                     Behind::host_route);
}

TEST(L3WireguardSwitch, ExplicitFlowsCarryPingAndTcpOverWireguardGo) {
  expect_a_reaches_b(
      [](const std::string& port) {
        return fmt::format(
            "\"in_port=veth-a,actions=output:{0}\", \"in_port={0},actions=output:veth-a\"", port);
      },
      Behind::proxied_gateway);
}

}  // namespace
}  // namespace sockswitch::test
