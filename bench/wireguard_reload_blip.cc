// bench/wireguard_reload_blip.cc: what a reload costs the traffic of a
// native WireGuard port (issue 13), as reload_blip.cc measures it for AF_XDP.
//
// End to end, root, needs wireguard-go: a host namespace runs an in-process
// control::Switch (bridge br0, `actions=normal`) with an `auto` veth port
// `pa` to container A (10.66.0.1/24, MTU 1420, 198.51.100.0/24 on-link) and
// a native WireGuard port `warp0` (driver "wireguard", a wg-quick file:
// AllowedIPs 198.51.100.0/24, Endpoint 192.0.2.2:2408 over a veth underlay).
// Namespace B runs wireguard-go holding 198.51.100.1. A paced, numbered UDP
// stream runs from A to 198.51.100.1 (10 kpps for 3 s); one second in, the
// switch is reloaded with an edited wg file, and what B never received is
// the change's blip.
//
// Edits: none (the same file); a second peer added and PersistentKeepalive
// set (both applied to the running port in place); ListenPort changed (the
// one edit that reopens the port: its UDP socket is bound anew, and B
// follows the new source port from the next authenticated packet).
//
// Usage: wireguard_reload_blip [rounds]   (default 3). Run it under the
// benchmark lock.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "bench/blip_round.h"
#include "control/config.h"
#include "control/switch.h"
#include "tests/control/switch_host.h"
#include "tests/control/switch_thread.h"
#include "tests/net/command.h"
#include "tests/net/netns.h"
#include "tests/net/udp_stream.h"
#include "tests/net/wireguard_go.h"

namespace {

using namespace std::chrono_literals;
namespace net = sockswitch::test::net;
namespace control = sockswitch::control;
namespace test = sockswitch::test;

struct Edit {
  const char* name;
  std::string wg_file;
};

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 3;
  if (auto why = net::wireguard_go_missing()) {
    std::fprintf(stderr, "wireguard_reload_blip: %s\n", why->c_str());
    return 1;
  }
  test::SwitchHost host;
  test::Container& a = host.plug("pa", "10.66.0.1/24");
  a.ns->exec_checked({"ip", "link", "set", "eth0", "mtu", "1420"});
  a.ns->exec_checked({"ip", "route", "add", "198.51.100.0/24", "dev", "eth0"});

  net::NetNamespace b;
  test::disable_ipv6(b);
  net::run_checked({"ip", "-n", host.ns().name(), "link", "add", "ul0", "type", "veth", "peer",
                    "name", "ul1", "netns", b.name()});
  net::configure_link(host.ns(), "ul0", {"192.0.2.1/30"});
  net::configure_link(b, "ul1", {"192.0.2.2/30"});
  net::WireguardGo wg(b, net::unique_link_name('w'));
  if (auto why = wg.wait_ready()) {
    std::fprintf(stderr, "wireguard_reload_blip: %s\n", why->c_str());
    return 1;
  }
  const net::WgKeyPair ours = net::make_wg_keys(), theirs = net::make_wg_keys(),
                       other = net::make_wg_keys();
  const net::SecretFile their_key(theirs.private_key);
  wg.set({"private-key", their_key.path(), "listen-port", "2408", "peer", ours.public_key,
          "allowed-ips", "10.66.0.0/24"});
  net::configure_link(b, wg.name(), {"198.51.100.1/32"});
  b.exec_checked({"ip", "route", "add", "10.66.0.0/24", "dev", wg.name()});

  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / fmt::format("wg-blip-{}", ::getpid());
  std::filesystem::create_directories(dir);
  const std::string wg_path = (dir / "warp0.conf").string();
  auto wg_file = [&](const std::string& interface_extra, const std::string& peer_extra,
                     const std::string& more_peers) {
    return fmt::format(
        "[Interface]\nPrivateKey = {}\n{}\n[Peer]\nPublicKey = {}\nAllowedIPs = "
        "198.51.100.0/24\nEndpoint = 192.0.2.2:2408\n{}{}",
        ours.private_key, interface_extra, theirs.public_key, peer_extra, more_peers);
  };
  auto write = [&](const std::string& text) { std::ofstream(wg_path) << text; };
  const std::string config = fmt::format(R"(wireguard_run_dir = "{}"
[[bridge]]
name = "br0"
flow = ["priority=10,actions=normal"]
[[bridge.port]]
name = "pa"
[[bridge.port]]
name = "warp0"
driver = "wireguard"
wg_config = "{}"
)",
                                         (dir / "run").string(), wg_path);
  const std::string base = wg_file("ListenPort = 51820\n", "", "");
  const std::vector<Edit> edits{
      {"the same file (nothing changes)", base},
      {"a second peer added (applied in place)",
       wg_file("ListenPort = 51820\n", "",
               fmt::format("\n[Peer]\nPublicKey = {}\nAllowedIPs = 203.0.113.0/24\n",
                           other.public_key))},
      {"PersistentKeepalive set (applied in place)",
       wg_file("ListenPort = 51820\n", "PersistentKeepalive = 25\n", "")},
      {"ListenPort changed (the port reopened)", wg_file("ListenPort = 51821\n", "", "")},
  };

  write(base);
  test::SwitchThread sw(host.ns(), control::parse_config(config, "<wg-blip>"));
  auto reload_with = [&](const std::string& text) {
    write(text);
    sw.call([&](control::Switch& s) { s.reload(control::parse_config(config, "<wg-blip>")); });
  };
  // The first handshake is not part of any reload: one stream to settle.
  (void)a.ns->exec({"ping", "-c", "3", "-i", "0.3", "-W", "2", "198.51.100.1"}, 10s);

  sockswitch::bench::print_blip_header();
  for (const Edit& e : edits) {
    for (int r = 0; r < rounds; ++r) {
      reload_with(base);
      sockswitch::bench::blip_round(e.name, r + 1, *a.ns, b, "198.51.100.1",
                                    [&] { reload_with(e.wg_file); });
    }
  }
  std::filesystem::remove_all(dir);
  return 0;
}
