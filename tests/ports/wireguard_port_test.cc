// tests/ports/wireguard_port_test.cc: the native WireGuard port against wireguard-go.
//
// Plan. Configure: a client namespace on a veth whose outer end is an
// AfPacketPort, wired by a PortForwarder to a WireGuardPort; the port's UDP
// socket lives in a "host" namespace joined by a veth underlay
// (192.0.2.1/30 - 192.0.2.2/30) to a "peer" namespace where Debian's
// wireguard-go runs, configured with `wg set`. The client (10.72.0.1/24,
// MTU 1420) reaches 10.73.0.0/24 on-link, and the port answers its ARP
// for those addresses because they are its peer's AllowedIPs;
// wireguard-go holds 10.73.0.1 and routes the client's subnet into the
// tunnel. Each test names who initiates and whether a preshared key is used.
// Send: pings and a 1 MB TCP stream through the tunnel. Verify: everything
// arrives; `wg show <port> dump` against the port's own UAPI socket lists
// the peer with a handshake and transfer counters that grow; wireguard-go
// agrees (its peer has a handshake and received bytes).
// Negatives: a packet from a source outside the peer's AllowedIPs is
// dropped and counted (source_not_allowed); after the peer moves to a new
// underlay address and port, traffic continues (roaming) and the port
// shows the new endpoint; with shortened timers (configuration, not a test
// build) the port rekeys several times under traffic without loss. Last,
// `wg set` through the UAPI socket adds and removes a peer, and a request to
// move the bound listen port is refused and changes nothing.
#include "ports/wireguard_port.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>

#include "ports/af_packet_port.h"
#include "tests/net/in_namespace.h"
#include "tests/net/require_netns.h"
#include "tests/net/skip.h"
#include "tests/net/tcp_transfer.h"
#include "tests/net/wireguard_go.h"
#include "tests/ports/port_forwarder.h"

namespace sockswitch::ports {
namespace {

using namespace std::chrono_literals;
using test::net::NetNamespace;

enum class Initiator { sockswitch, wireguard_go };

struct Scenario {
  Initiator initiator = Initiator::sockswitch;
  bool psk = false;
  wireguard::TimerDurations timers = {};
};

class WireGuardInterop {
 public:
  explicit WireGuardInterop(const Scenario& setup) : setup_(setup) {
    client_link_.plug_into(client_, {"10.72.0.1/24"});
    client_.exec_checked({"ip", "link", "set", client_link_.inner(), "mtu", "1420"});
    // On-link: the client ARPs for the peer's addresses, which the port
    // answers because they lie behind it (its peer's AllowedIPs).
    client_.exec_checked({"ip", "route", "add", "10.73.0.0/24", "dev", client_link_.inner()});
    test::net::run_checked({"ip", "-n", host_.name(), "link", "add", "ul0", "type", "veth", "peer",
                            "name", "ul1", "netns", peer_.name()});
    test::net::configure_link(host_, "ul0", {"192.0.2.1/30"});
    test::net::configure_link(peer_, "ul1", {"192.0.2.2/30"});
  }

  // Starts both ends; the reason when wireguard-go cannot run here.
  std::optional<std::string> start() {
    wg_ = std::make_unique<test::net::WireguardGo>(peer_, test::net::unique_link_name('w'));
    if (auto why = wg_->wait_ready()) return why;
    const test::net::WgKeyPair ours = test::net::make_wg_keys(), theirs = test::net::make_wg_keys();
    const std::string psk = setup_.psk ? test::net::make_wg_psk() : "";
    const bool we_start = setup_.initiator == Initiator::sockswitch;

    std::string conf = "[Interface]\nPrivateKey = " + ours.private_key + "\n";
    if (!we_start) conf += "ListenPort = 51820\n";
    conf += "[Peer]\nPublicKey = " + theirs.public_key + "\nAllowedIPs = 10.73.0.0/24\n";
    if (setup_.psk) conf += "PresharedKey = " + psk + "\n";
    if (we_start) conf += "Endpoint = 192.0.2.2:51821\n";
    const wireguard::WgConfig config = wireguard::parse_wg_config(conf, "<test>");
    port_name_ = test::net::unique_link_name('g');
    port_ = test::net::in_namespace(host_, [&] {
      return std::make_unique<WireGuardPort>(port_name_, config,
                                             WireGuardPortOptions{.timers = setup_.timers});
    });

    const test::net::SecretFile key(theirs.private_key), psk_file(psk);
    std::vector<std::string> args{"private-key", key.path(),      "listen-port", "51821",
                                  "peer",        ours.public_key, "allowed-ips", "10.72.0.0/24"};
    if (setup_.psk) args.insert(args.end(), {"preshared-key", psk_file.path()});
    if (!we_start)
      args.insert(args.end(), {"endpoint", "192.0.2.1:" + std::to_string(port_->listen_port())});
    wg_->set(args);
    test::net::configure_link(peer_, wg_->name(), {"10.73.0.1/24"});
    peer_.exec_checked({"ip", "route", "add", "10.72.0.0/24", "dev", wg_->name()});

    // What the switch publishes for a native WireGuard port: its AllowedIPs.
    std::vector<NeighborClaims::Route> behind;
    const std::vector<ClaimPrefix> allowed = port_->routed_prefixes().value();
    for (const ClaimPrefix& p : allowed)
      behind.push_back({p, true});
    port_->l3_neighbors()->claims.publish(
        std::make_unique<NeighborClaims>(std::move(behind), NeighborClaims::Source::allowed_ips));
    eth_ = std::make_unique<AfPacketPort>(client_link_.outer());
    forwarder_ = std::make_unique<test::PortForwarder>(*eth_, *port_);
    return std::nullopt;
  }

  // `wg show <port> dump`, run against the port's UAPI socket.
  std::vector<test::net::WgPeerStatus> port_peers() const {
    const auto r = test::net::run_command({"wg", "show", port_name_, "dump"}, 3s);
    EXPECT_TRUE(r.ok()) << r.output;
    return test::net::parse_wg_dump(r.output);
  }
  std::string logs() const { return "wireguard-go:\n" + wg_->log() + "port:\n" + port_->show(); }

  NetNamespace client_, host_, peer_;
  test::net::VethPair client_link_;
  Scenario setup_;
  std::string port_name_;
  std::unique_ptr<test::net::WireguardGo> wg_;
  std::unique_ptr<WireGuardPort> port_;
  std::unique_ptr<AfPacketPort> eth_;
  std::unique_ptr<test::PortForwarder> forwarder_;
};

void ping_and_transfer(const Scenario& setup) {
  SOCKSWITCH_REQUIRE_NETNS();
  if (auto why = test::net::wireguard_go_missing()) SOCKSWITCH_SKIP(*why);
  WireGuardInterop t(setup);
  if (auto why = t.start()) SOCKSWITCH_SKIP(*why);
  const NetNamespace& first = setup.initiator == Initiator::sockswitch ? t.client_ : t.peer_;
  const std::string target = setup.initiator == Initiator::sockswitch ? "10.73.0.1" : "10.72.0.1";
  // The first ping may be spent on ARP and the handshake.
  auto r = first.exec({"ping", "-c", "5", "-i", "0.3", "-W", "2", target}, 10s);
  EXPECT_NE(r.output.find(" 0% packet loss"), std::string::npos) << r.output << t.logs();
  constexpr std::size_t kBytes = 1'000'000;
  EXPECT_EQ(test::net::tcp_transfer(t.peer_, "10.73.0.1", t.client_, 5011, kBytes, 10s), kBytes)
      << t.logs();

  const auto peers = t.port_peers();
  ASSERT_EQ(peers.size(), 1u) << t.logs();
  EXPECT_GT(peers[0].latest_handshake, 0);
  EXPECT_GT(peers[0].tx_bytes, kBytes);
  EXPECT_GT(peers[0].rx_bytes, 0u);
  EXPECT_EQ(peers[0].endpoint, "192.0.2.2:51821");
  EXPECT_EQ(peers[0].preshared_key == "(none)", !setup.psk);
  // Counters grow with traffic.
  r = t.client_.exec({"ping", "-c", "3", "-i", "0.2", "-W", "1", "10.73.0.1"}, 5s);
  EXPECT_TRUE(r.ok()) << r.output;
  const auto later = t.port_peers();
  ASSERT_EQ(later.size(), 1u);
  EXPECT_GT(later[0].tx_bytes, peers[0].tx_bytes);
  EXPECT_GT(later[0].rx_bytes, peers[0].rx_bytes);
  const auto theirs = t.wg_->peers();
  ASSERT_EQ(theirs.size(), 1u);
  EXPECT_GT(theirs[0].latest_handshake, 0);
  EXPECT_GT(theirs[0].rx_bytes, kBytes);
  const PortCounters c = t.port_->counters();
  EXPECT_GT(c.tx_packets, 700u);
  EXPECT_GT(c.rx_packets, 3u);
}

TEST(WireGuardPort, InitiatorWithoutPsk) {
  ping_and_transfer({Initiator::sockswitch, false});
}
TEST(WireGuardPort, InitiatorWithPsk) {
  ping_and_transfer({Initiator::sockswitch, true});
}
TEST(WireGuardPort, ResponderWithoutPsk) {
  ping_and_transfer({Initiator::wireguard_go, false});
}
TEST(WireGuardPort, ResponderWithPsk) {
  ping_and_transfer({Initiator::wireguard_go, true});
}

TEST(WireGuardPort, SourceOutsideAllowedIpsIsDroppedAndCounted) {
  SOCKSWITCH_REQUIRE_NETNS();
  if (auto why = test::net::wireguard_go_missing()) SOCKSWITCH_SKIP(*why);
  WireGuardInterop t({Initiator::sockswitch, false});
  if (auto why = t.start()) SOCKSWITCH_SKIP(*why);
  auto r = t.client_.exec({"ping", "-c", "2", "-i", "0.3", "-W", "2", "10.73.0.1"}, 8s);
  ASSERT_TRUE(r.ok()) << r.output << t.logs();
  // 10.74.0.1 on the peer is outside the port's AllowedIPs (10.73.0.0/24):
  // wireguard-go sends it through the tunnel, the port must refuse it.
  t.peer_.exec_checked({"ip", "addr", "add", "10.74.0.1/32", "dev", t.wg_->name()});
  const PortCounters before = t.port_->counters();
  r = t.peer_.exec({"ping", "-c", "3", "-i", "0.2", "-W", "1", "-I", "10.74.0.1", "10.72.0.1"}, 5s);
  EXPECT_FALSE(r.ok()) << "replies came back from a source the peer may not use\n" << r.output;
  const wireguard::DeviceCounters dc = t.port_->device_counters();
  EXPECT_GE(dc.rx_drops[static_cast<std::size_t>(wireguard::RxDrop::source_not_allowed)], 3u)
      << t.logs();
  EXPECT_GE(t.port_->counters().rx_dropped, before.rx_dropped + 3) << t.logs();
  EXPECT_NE(t.port_->show().find("source_not_allowed"), std::string::npos) << t.logs();
}

TEST(WireGuardPort, PeerRoamsToANewAddressAndTrafficContinues) {
  SOCKSWITCH_REQUIRE_NETNS();
  if (auto why = test::net::wireguard_go_missing()) SOCKSWITCH_SKIP(*why);
  WireGuardInterop t({Initiator::sockswitch, false});
  if (auto why = t.start()) SOCKSWITCH_SKIP(*why);
  auto r = t.client_.exec({"ping", "-c", "2", "-i", "0.3", "-W", "2", "10.73.0.1"}, 8s);
  ASSERT_TRUE(r.ok()) << r.output << t.logs();
  // The peer's underlay address and port change for good: 192.0.2.2 is
  // gone, it now sends from 198.18.0.2:51822. Only a port that follows the
  // peer's last authenticated packet can answer it.
  t.host_.exec_checked({"ip", "addr", "add", "198.18.0.1/24", "dev", "ul0"});
  t.peer_.exec_checked({"ip", "addr", "add", "198.18.0.2/24", "dev", "ul1"});
  t.peer_.exec_checked({"ip", "addr", "del", "192.0.2.2/30", "dev", "ul1"});
  t.peer_.exec_checked({"ip", "route", "add", "192.0.2.0/30", "dev", "ul1", "src", "198.18.0.2"});
  // A new listen port too, as after a NAT rebinding; it also makes
  // wireguard-go forget the source address it had pinned for the port.
  t.wg_->set({"listen-port", "51822"});
  r = t.peer_.exec({"ping", "-c", "4", "-i", "0.3", "-W", "2", "10.72.0.1"}, 10s);
  EXPECT_TRUE(r.ok()) << r.output << t.logs();
  const auto peers = t.port_peers();
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].endpoint, "198.18.0.2:51822") << t.logs();
  r = t.client_.exec({"ping", "-c", "3", "-i", "0.2", "-W", "1", "10.73.0.1"}, 5s);
  EXPECT_TRUE(r.ok()) << r.output << t.logs();
}

TEST(WireGuardPort, RekeysWithShortenedTimersWithoutLosingTraffic) {
  SOCKSWITCH_REQUIRE_NETNS();
  if (auto why = test::net::wireguard_go_missing()) SOCKSWITCH_SKIP(*why);
  Scenario s{Initiator::sockswitch, false};
  // By configuration, the build is the same. Initiations are at least
  // rekey_timeout apart, so that is shortened as well.
  s.timers.rekey_after_time = 2s;
  s.timers.rekey_timeout = 1s;
  s.timers.reject_after_time = 6s;
  WireGuardInterop t(s);
  if (auto why = t.start()) SOCKSWITCH_SKIP(*why);
  auto r = t.client_.exec({"ping", "-c", "2", "-i", "0.3", "-W", "2", "10.73.0.1"}, 8s);
  ASSERT_TRUE(r.ok()) << r.output << t.logs();
  const std::uint64_t first = t.port_->device_counters().handshakes_completed;
  // 7 s of traffic spans several rekeys and outlives the first session's
  // reject-after time: every packet must still get through.
  r = t.client_.exec({"ping", "-c", "35", "-i", "0.2", "-W", "2", "10.73.0.1"}, 15s);
  EXPECT_NE(r.output.find(" 0% packet loss"), std::string::npos) << r.output << t.logs();
  EXPECT_GE(t.port_->device_counters().handshakes_completed, first + 2) << t.logs();
}

TEST(WireGuardPort, WgSetThroughTheUapiSocketChangesPeersAndRefusesAMove) {
  SOCKSWITCH_REQUIRE_NETNS();
  if (auto why = test::net::wireguard_go_missing()) SOCKSWITCH_SKIP(*why);  // for wg
  NetNamespace ns;
  const std::string name = test::net::unique_link_name('g');
  const wireguard::WgConfig config = wireguard::parse_wg_config(
      "[Interface]\nPrivateKey = " + test::net::make_wg_keys().private_key + "\n", "<test>");
  auto port =
      test::net::in_namespace(ns, [&] { return std::make_unique<WireGuardPort>(name, config); });
  const std::string peer = test::net::make_wg_keys().public_key;
  auto r = test::net::run_command({"wg", "set", name, "peer", peer, "allowed-ips", "10.99.0.0/24",
                                   "endpoint", "192.0.2.77:4500", "persistent-keepalive", "15"},
                                  3s);
  EXPECT_TRUE(r.ok()) << r.output;
  const auto peers =
      test::net::parse_wg_dump(test::net::run_command({"wg", "show", name, "dump"}, 3s).output);
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].public_key, peer);
  EXPECT_EQ(peers[0].allowed_ips, "10.99.0.0/24");
  EXPECT_EQ(peers[0].endpoint, "192.0.2.77:4500");
  EXPECT_EQ(peers[0].persistent_keepalive, "15");
  // The socket is bound once: moving it is refused and changes nothing.
  const std::uint16_t bound = port->listen_port();
  r = test::net::run_command(
      {"wg", "set", name, "listen-port", std::to_string(bound == 9 ? 10 : 9)}, 3s);
  EXPECT_FALSE(r.ok()) << r.output;
  r = test::net::run_command({"wg", "show", name, "listen-port"}, 3s);
  EXPECT_EQ(r.output, std::to_string(bound) + "\n");
  r = test::net::run_command({"wg", "set", name, "peer", peer, "remove"}, 3s);
  EXPECT_TRUE(r.ok()) << r.output;
  EXPECT_NE(port->show().find("interface: " + name), std::string::npos);
  EXPECT_EQ(port->show().find("peer: "), std::string::npos) << port->show();
}

// Calls resolve_pending_endpoints() as the daemon's timer does, until a
// lookup (on its own thread) has given the pending peer its endpoint.
bool resolves_within_5s(WireGuardPort& port) {
  for (int i = 0; i < 500; ++i) {
    if (port.resolve_pending_endpoints() == 1) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

// A WARP-like file whose Endpoint names a host that does not resolve,
// read in `ns` (which has no route anywhere: the lookup fails at once).
wireguard::WgConfig warp_with_unresolved_endpoint(const NetNamespace& ns) {
  const std::string conf = "[Interface]\nPrivateKey = " + test::net::make_wg_keys().private_key +
                           "\n[Peer]\nPublicKey = " + test::net::make_wg_keys().public_key +
                           "\nAllowedIPs = 0.0.0.0/0\nEndpoint = engage.warp.invalid:2408\n";
  return test::net::in_namespace(ns, [&] { return wireguard::parse_wg_config(conf, "<warp>"); });
}

// WARP configs name their endpoint by host name. With no DNS yet at boot
// the port must start anyway: the peer waits without an endpoint and the
// name is looked up again until it resolves. (The namespace has no route
// anywhere: the lookup fails at once and sends nothing.)
TEST(WireGuardPort, AnEndpointThatDoesNotResolveYetIsRetriedNotFatal) {
  SOCKSWITCH_REQUIRE_NETNS();
  if (auto why = test::net::wireguard_go_missing()) SOCKSWITCH_SKIP(*why);  // for wg genkey
  NetNamespace ns;
  wireguard::WgConfig config = warp_with_unresolved_endpoint(ns);
  ASSERT_EQ(config.peers.size(), 1u);
  EXPECT_FALSE(config.peers[0].endpoint);
  EXPECT_EQ(config.peers[0].endpoint_host, "engage.warp.invalid:2408");
  // What the network answers later: a name the hosts file resolves.
  config.peers[0].endpoint_host = "localhost:2408";
  const std::string name = test::net::unique_link_name('g');
  auto port =
      test::net::in_namespace(ns, [&] { return std::make_unique<WireGuardPort>(name, config); });
  EXPECT_EQ(port->pending_endpoints(), 1u);
  EXPECT_TRUE(resolves_within_5s(*port));
  EXPECT_EQ(port->pending_endpoints(), 0u);
  const wireguard::DeviceSnapshot snap = port->snapshot();
  ASSERT_EQ(snap.peers.size(), 1u);
  ASSERT_TRUE(snap.peers[0].endpoint);
  EXPECT_EQ(snap.peers[0].endpoint->port, 2408);
}

// A resolver that takes its time (no DNS server answering at boot: each
// lookup waits out its timeouts) must not hold the control thread, which
// also answers ctl and reloads. The lookup here waits until the test lets
// it go, which the test does only after resolve_pending_endpoints() has
// returned: a call that waited for it would wait out the lookup's 10 s
// instead, and the lookup would report that it timed out.
TEST(WireGuardPort, AnEndpointLookupNeverHoldsTheCaller) {
  SOCKSWITCH_REQUIRE_NETNS();
  if (auto why = test::net::wireguard_go_missing()) SOCKSWITCH_SKIP(*why);  // for wg genkey
  NetNamespace ns;
  const wireguard::WgConfig config = warp_with_unresolved_endpoint(ns);
  auto released = std::make_shared<std::promise<void>>();
  auto timed_out = std::make_shared<std::atomic<bool>>(false);
  WireGuardPortOptions options;
  options.uapi_directory.clear();
  options.resolve = [gate = released->get_future().share(), timed_out](
                        const std::string&, std::string&) -> std::optional<wireguard::Endpoint> {
    if (gate.wait_for(10s) != std::future_status::ready) {
      *timed_out = true;
      return std::nullopt;
    }
    std::string why;
    return wireguard::Endpoint::resolve("127.0.0.1:2408", why);
  };
  const std::string name = test::net::unique_link_name('g');
  auto port = test::net::in_namespace(
      ns, [&] { return std::make_unique<WireGuardPort>(name, config, options); });
  EXPECT_EQ(port->resolve_pending_endpoints(), 0u);  // the lookup has started, and waits
  EXPECT_EQ(port->resolve_pending_endpoints(), 0u);
  released->set_value();
  EXPECT_TRUE(resolves_within_5s(*port));
  EXPECT_FALSE(*timed_out) << "resolve_pending_endpoints() waited for the lookup";
}

}  // namespace
}  // namespace sockswitch::ports
