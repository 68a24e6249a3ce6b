// tests/control/wireguard_vps_test.cc: the VPS seed path through a native WireGuard warp0.
//
// Plan. Configure: the shipped vps.toml and vps-socket.flows, copied, with
// one change: warp0 is `driver = "wireguard"` with a wg-quick file (the
// WARP client config a user would point it at: our private key, the WARP
// peer's public key, Endpoint, AllowedIPs = 0.0.0.0/0). The switch runs in a
// host namespace with the Xray container on veth102 (10.2.0.102/24, MTU
// 1420, route to the "internet" 198.51.100.0/24 via 10.2.0.254) and a
// nm-server stand-in; the host reaches a "WARP" namespace over a veth
// underlay, where wireguard-go holds 198.51.100.1 behind the tunnel. The
// seed flows send everything from veth102 to warp0 and everything from
// warp0 back to veth102, so ARP for the gateway is answered by warp0's L3
// adapter and every reply must come back through the tunnel. Send: pings and
// a 1 MB TCP stream from Xray to 198.51.100.1. Verify: all arrive; `ctl
// wg-show warp0` (Switch::wg_show) shows the peer with a handshake and
// transfer, and the metrics have its byte counters and handshake age;
// warp0's port counters saw the traffic both ways. Then a reload
// with an edited file (a PersistentKeepalive added) is applied in place and
// traffic still flows, and a reload with a broken file changes nothing.
#include <gtest/gtest.h>

#include <filesystem>

#include "control/config.h"
#include "control/metrics_text.h"
#include "tests/control/config_dir.h"
#include "tests/control/switch_host.h"
#include "tests/control/switch_thread.h"
#include "tests/net/require_netns.h"
#include "tests/net/skip.h"
#include "tests/net/tcp_transfer.h"
#include "tests/net/wireguard_go.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;

std::string with_replaced(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  if (at == std::string::npos) throw std::logic_error("'" + from + "' not in the text");
  return text.replace(at, from.size(), to);
}

TEST(WireguardVps, XrayTrafficLeavesThroughNativeWarp0AndRepliesReturn) {
  SOCKSWITCH_REQUIRE_NETNS();
  if (auto why = net::wireguard_go_missing()) SOCKSWITCH_SKIP(*why);
  SwitchHost host;
  Container& xray = host.plug("veth102", "10.2.0.102/24");
  host.plug("nm-server", "10.2.0.1/24");
  xray.ns->exec_checked({"ip", "link", "set", "eth0", "mtu", "1420"});
  xray.ns->exec_checked({"ip", "route", "add", "198.51.100.0/24", "via", "10.2.0.254"});

  net::NetNamespace warp;
  disable_ipv6(warp);
  net::run_checked({"ip", "-n", host.ns().name(), "link", "add", "ul0", "type", "veth", "peer",
                    "name", "ul1", "netns", warp.name()});
  net::configure_link(host.ns(), "ul0", {"192.0.2.1/30"});
  net::configure_link(warp, "ul1", {"192.0.2.2/30"});
  net::WireguardGo wg(warp, net::unique_link_name('w'));
  if (auto why = wg.wait_ready()) SOCKSWITCH_SKIP(*why);
  const net::WgKeyPair ours = net::make_wg_keys(), theirs = net::make_wg_keys();
  const net::SecretFile their_key(theirs.private_key);
  wg.set({"private-key", their_key.path(), "listen-port", "2408", "peer", ours.public_key,
          "allowed-ips", "10.2.0.0/24"});
  net::configure_link(warp, wg.name(), {"198.51.100.1/32"});
  warp.exec_checked({"ip", "route", "add", "10.2.0.0/24", "dev", wg.name()});

  ConfigDir dir({"vps.toml", "vps-socket.flows"});
  const std::string warp_conf = "[Interface]\nPrivateKey = " + ours.private_key +
                                "\n\n[Peer]\nPublicKey = " + theirs.public_key +
                                "\nAllowedIPs = 0.0.0.0/0\nEndpoint = 192.0.2.2:2408\n";
  dir.write("warp0.conf", warp_conf);
  dir.write("vps.toml", with_replaced(dir.read("vps.toml"), "name = \"warp0\"\nofport = 2\n",
                                      "name = \"warp0\"\nofport = 2\ndriver = \"wireguard\"\n"
                                      "wg_config = \"warp0.conf\"\n"));
  // Its UAPI socket in the test's own directory, not /var/run/wireguard/warp0.sock
  // (a real warp0's, or another run's).
  dir.write("vps.toml", "wireguard_run_dir = \"" + dir.path("run") + "\"\n" + dir.read("vps.toml"));
  SwitchThread sw(host.ns(), control::load_config(dir.path("vps.toml")));
  EXPECT_TRUE(std::filesystem::exists(dir.path("run") + "/warp0.sock"));

  auto r = xray.ns->exec({"ping", "-c", "5", "-i", "0.3", "-W", "2", "198.51.100.1"}, 10s);
  EXPECT_TRUE(r.ok()) << r.output << wg.log();
  constexpr std::size_t kBytes = 1'000'000;
  EXPECT_EQ(net::tcp_transfer(warp, "198.51.100.1", *xray.ns, 5021, kBytes, 10s), kBytes)
      << wg.log();

  const std::string show = sw.call([](control::Switch& s) { return s.wg_show("warp0"); });
  EXPECT_NE(show.find("peer: " + theirs.public_key), std::string::npos) << show;
  EXPECT_NE(show.find("endpoint: 192.0.2.2:2408"), std::string::npos) << show;
  EXPECT_EQ(show.find("latest handshake: never"), std::string::npos) << show;
  // The same counters as Prometheus series (what a quota-watching host graphs).
  const std::string metrics =
      sw.call([](control::Switch& s) { return control::metrics_text(s, {}); });
  const std::string series =
      "{bridge=\"socket\",port=\"warp0\",peer=\"" + theirs.public_key + "\"}";
  for (const std::string name :
       {"sockswitch_wireguard_peer_tx_bytes_total", "sockswitch_wireguard_peer_rx_bytes_total"}) {
    const std::size_t at = metrics.find(name + series + " ");
    ASSERT_NE(at, std::string::npos) << name << series << "\n" << metrics;
    EXPECT_GT(std::stoull(metrics.substr(at + name.size() + series.size() + 1)), kBytes / 100)
        << name;
  }
  EXPECT_NE(metrics.find("sockswitch_wireguard_peer_seconds_since_handshake" + series),
            std::string::npos)
      << metrics;
  const std::string ports = sw.call([](control::Switch& s) { return s.dump_ports("socket"); });
  EXPECT_NE(ports.find("warp0"), std::string::npos) << ports;
  const auto theirs_seen = wg.peers();
  ASSERT_EQ(theirs_seen.size(), 1u);
  EXPECT_GT(theirs_seen[0].rx_bytes, kBytes);

  // An edited file is applied in place: the session survives the reload
  // or is re-made at once, and traffic flows on.
  dir.write("warp0.conf", warp_conf + "PersistentKeepalive = 25\n");
  sw.call([&](control::Switch& s) { s.reload(control::load_config(dir.path("vps.toml"))); });
  EXPECT_NE(sw.call([](control::Switch& s) {
                return s.wg_show("warp0");
              }).find("persistent keepalive: every 25 seconds"),
            std::string::npos);
  r = xray.ns->exec({"ping", "-c", "3", "-i", "0.3", "-W", "2", "198.51.100.1"}, 8s);
  EXPECT_TRUE(r.ok()) << r.output;

  // A broken file is refused at load: the running port is untouched.
  dir.write("warp0.conf", "[Interface]\nPrivateKey = broken\n");
  EXPECT_THROW((void)control::load_config(dir.path("vps.toml")), control::ConfigError);
  r = xray.ns->exec({"ping", "-c", "2", "-i", "0.3", "-W", "2", "198.51.100.1"}, 6s);
  EXPECT_TRUE(r.ok()) << r.output;
}

}  // namespace
}  // namespace sockswitch::test
