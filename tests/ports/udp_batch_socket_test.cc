// tests/ports/udp_batch_socket_test.cc: bursts over real sockets (loopback, and namespaces).
//
// Plan: two UdpBatchSockets on loopback, every combination of GSO on the
// sender and GRO on the receiver. Send bursts whose datagrams carry their own
// sequence number and size; verify that each arrives once, in order, intact,
// with the sender's port as its source, and that the offload counters show
// the offload was really used where the kernel offers it. Negatives: a
// datagram larger than its buffer is dropped and counted while its neighbours
// arrive; an IPv6 destination on an IPv4-only socket is an error; a taken port
// throws. In namespaces: SO_MARK steers into a policy-routing table where
// the destination is unreachable (marked sends fail, unmarked ones arrive),
// and a GSO segment above lo's MTU falls back to separate (fragmented)
// datagrams. Against the reference peer: a wireguard-go interface in
// another namespace, pointed at the socket, delivers its handshake
// initiation (type 1, 148 bytes) from its listen port.
#include "ports/udp_batch_socket.h"

#include <gtest/gtest.h>
#include <poll.h>

#include <chrono>
#include <cstring>
#include <system_error>
#include <vector>

#include "tests/net/in_namespace.h"
#include "tests/net/require_netns.h"
#include "tests/net/skip.h"
#include "tests/net/wireguard_go.h"

namespace sockswitch::ports {
namespace {

using namespace std::chrono_literals;

// Datagram i: a 4-byte sequence number, then bytes (i + k) & 0xff.
std::vector<std::uint8_t> payload(std::uint32_t seq, std::size_t size) {
  std::vector<std::uint8_t> d(size);
  std::memcpy(d.data(), &seq, sizeof seq);
  for (std::size_t k = sizeof seq; k < size; ++k)
    d[k] = static_cast<std::uint8_t>(seq + k);
  return d;
}

struct Received {
  std::vector<std::vector<std::uint8_t>> datagrams;
  std::vector<UdpEndpoint> sources;
};

// Receives until `count` datagrams arrived or 3 s passed, `slots` at a time.
Received receive(UdpBatchSocket& s, std::size_t count, std::size_t slots = 32,
                 std::uint32_t capacity = 2048) {
  Received got;
  std::vector<std::vector<std::uint8_t>> buffers(slots, std::vector<std::uint8_t>(capacity));
  std::vector<RxDatagram> rx(slots);
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (got.datagrams.size() < count && std::chrono::steady_clock::now() < deadline) {
    for (std::size_t i = 0; i < slots; ++i)
      rx[i] = RxDatagram{buffers[i].data(), capacity, &buffers[i], 0, {}};
    const std::size_t n = s.recv_burst(rx);
    for (std::size_t i = 0; i < n; ++i) {
      // The slot's user value still names the buffer holding its bytes.
      EXPECT_EQ(static_cast<std::vector<std::uint8_t>*>(rx[i].user)->data(), rx[i].data);
      got.datagrams.emplace_back(rx[i].data, rx[i].data + rx[i].length);
      got.sources.push_back(rx[i].from);
    }
    if (n == 0 && !s.has_pending()) {
      pollfd p{s.fd(), POLLIN, 0};
      (void)::poll(&p, 1, 50);
    }
  }
  return got;
}

std::vector<TxDatagram> burst_of(const std::vector<std::vector<std::uint8_t>>& data,
                                 const UdpEndpoint& to) {
  std::vector<TxDatagram> tx;
  for (const auto& d : data)
    tx.push_back({d.data(), static_cast<std::uint32_t>(d.size()), to});
  return tx;
}

UdpEndpoint loopback4(const UdpBatchSocket& s) {
  return *UdpEndpoint::parse("127.0.0.1:" + std::to_string(s.port()));
}

struct Offloads {
  bool gso, gro;
};

class UdpBatchSocketOffloads : public ::testing::TestWithParam<Offloads> {};

TEST_P(UdpBatchSocketOffloads, BurstArrivesInOrderAndIntact) {
  UdpBatchSocket rx({.gro = GetParam().gro});
  UdpBatchSocket tx({.gso = GetParam().gso});
  ASSERT_NE(rx.port(), 0);
  EXPECT_TRUE(rx.dual_stack());
  // 96 full-size datagrams (more than one sendmmsg chunk), then short tails.
  std::vector<std::vector<std::uint8_t>> data;
  for (std::uint32_t i = 0; i < 96; ++i)
    data.push_back(payload(i, 1400));
  data.push_back(payload(96, 300));
  data.push_back(payload(97, 1400));
  data.push_back(payload(98, 60));
  const auto r = tx.send_burst(burst_of(data, loopback4(rx)));
  EXPECT_EQ(r.sent, data.size());
  EXPECT_EQ(r.sent_bytes, 97 * 1400u + 300 + 60);
  EXPECT_EQ(r.dropped + r.errors, 0u);

  const Received got = receive(rx, data.size());
  ASSERT_EQ(got.datagrams.size(), data.size());
  for (std::size_t i = 0; i < data.size(); ++i) {
    EXPECT_EQ(got.datagrams[i], data[i]) << "datagram " << i;
    EXPECT_EQ(got.sources[i], loopback4(tx));
  }
  if (tx.gso()) {
    EXPECT_GE(tx.counters().tx_gso_messages, 2u);
  }
  // A GSO send on loopback reaches a GRO socket as one super-datagram.
  if (tx.gso() && rx.gro()) {
    EXPECT_GE(rx.counters().rx_gro_batches, 1u);
  }
  EXPECT_EQ(rx.counters().rx_truncated, 0u);
}

TEST_P(UdpBatchSocketOffloads, InterleavedDestinationsAndIpv6Loopback) {
  UdpBatchSocket a({.gro = GetParam().gro}), b({.gro = GetParam().gro});
  UdpBatchSocket tx({.gso = GetParam().gso});
  const UdpEndpoint to_a = loopback4(a);
  const UdpEndpoint to_b = *UdpEndpoint::parse("[::1]:" + std::to_string(b.port()));
  std::vector<std::vector<std::uint8_t>> data;
  std::vector<TxDatagram> burst;
  for (std::uint32_t i = 0; i < 40; ++i)
    data.push_back(payload(i, i % 7 == 0 ? 200 : 1000));
  for (std::uint32_t i = 0; i < 40; ++i)
    burst.push_back({data[i].data(), static_cast<std::uint32_t>(data[i].size()),
                     (i / 5) % 2 == 0 ? to_a : to_b});
  EXPECT_EQ(tx.send_burst(burst).sent, 40u);
  const Received got_a = receive(a, 20), got_b = receive(b, 20);
  ASSERT_EQ(got_a.datagrams.size(), 20u);
  ASSERT_EQ(got_b.datagrams.size(), 20u);
  std::size_t ia = 0, ib = 0;
  for (std::uint32_t i = 0; i < 40; ++i) {
    if ((i / 5) % 2 == 0)
      EXPECT_EQ(got_a.datagrams[ia++], data[i]) << i;
    else
      EXPECT_EQ(got_b.datagrams[ib++], data[i]) << i;
  }
  EXPECT_FALSE(got_b.sources[0].is_v4());
  EXPECT_EQ(got_b.sources[0].port(), tx.port());
}

INSTANTIATE_TEST_SUITE_P(All, UdpBatchSocketOffloads,
                         ::testing::Values(Offloads{false, false}, Offloads{true, false},
                                           Offloads{false, true}, Offloads{true, true}),
                         [](const auto& info) {
                           return std::string(info.param.gso ? "Gso" : "NoGso") +
                                  (info.param.gro ? "Gro" : "NoGro");
                         });

TEST(UdpBatchSocket, OffloadsAreProbedOnThisKernel) {
  UdpBatchSocket s({.gro = true, .gso = true});
  // Both exist since Linux 5.0; the suite's other checks rely on them.
  EXPECT_TRUE(s.gso());
  EXPECT_TRUE(s.gro());
  UdpBatchSocket off({.gro = false, .gso = false});
  EXPECT_FALSE(off.gso());
  EXPECT_FALSE(off.gro());
}

TEST(UdpBatchSocket, OversizedDatagramIsDroppedAndCountedNeighboursArrive) {
  for (const bool gro : {false, true}) {
    UdpBatchSocket rx({.gro = gro});
    UdpBatchSocket tx({.gso = false});
    const std::vector<std::vector<std::uint8_t>> data = {payload(0, 100), payload(1, 900),
                                                         payload(2, 120)};
    EXPECT_EQ(tx.send_burst(burst_of(data, loopback4(rx))).sent, 3u);
    const Received got = receive(rx, 2, 8, 512);
    ASSERT_EQ(got.datagrams.size(), 2u) << "gro " << gro;
    EXPECT_EQ(got.datagrams[0], data[0]);
    EXPECT_EQ(got.datagrams[1], data[2]);
    EXPECT_EQ(rx.counters().rx_truncated, 1u);
  }
}

TEST(UdpBatchSocket, GroSegmentsBeyondTheCallersBurstStayPending) {
  UdpBatchSocket rx({.gro = true});
  UdpBatchSocket tx({.gso = true});
  if (!rx.gro() || !tx.gso()) SOCKSWITCH_SKIP("no UDP GRO/GSO here");
  std::vector<std::vector<std::uint8_t>> data;
  for (std::uint32_t i = 0; i < 64; ++i)
    data.push_back(payload(i, 1200));
  EXPECT_EQ(tx.send_burst(burst_of(data, loopback4(rx))).sent, 64u);
  pollfd p{rx.fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 3000), 1);
  std::vector<std::vector<std::uint8_t>> buffers(4, std::vector<std::uint8_t>(2048));
  std::vector<RxDatagram> slots(4);
  for (std::size_t i = 0; i < 4; ++i)
    slots[i] = RxDatagram{buffers[i].data(), 2048, nullptr, 0, {}};
  ASSERT_EQ(rx.recv_burst(slots), 4u);
  EXPECT_TRUE(rx.has_pending());
  const Received rest = receive(rx, 60, 4);
  ASSERT_EQ(rest.datagrams.size(), 60u);
  EXPECT_EQ(rest.datagrams.front(), data[4]);
  EXPECT_EQ(rest.datagrams.back(), data[63]);
  EXPECT_FALSE(rx.has_pending());
}

TEST(UdpBatchSocket, Ipv4OnlySocketRefusesIpv6Destinations) {
  UdpBatchSocket v4({.ipv6 = false});
  EXPECT_FALSE(v4.dual_stack());
  UdpBatchSocket rx({});
  const auto d = payload(1, 64);
  const std::vector<TxDatagram> burst = {
      {d.data(), 64, *UdpEndpoint::parse("[::1]:" + std::to_string(rx.port()))},
      {d.data(), 64, loopback4(rx)}};
  const auto r = v4.send_burst(burst);
  EXPECT_EQ(r.errors, 1u);
  EXPECT_EQ(r.sent, 1u);
  const Received got = receive(rx, 1);
  ASSERT_EQ(got.datagrams.size(), 1u);
  EXPECT_EQ(got.sources[0], loopback4(v4));
}

TEST(UdpBatchSocket, TakenPortThrowsAndFdWakesOnData) {
  UdpBatchSocket a({});
  try {
    UdpBatchSocket b({.port = a.port()});
    ADD_FAILURE() << "second bind to " << a.port() << " succeeded";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code().value(), EADDRINUSE) << e.what();
  }
  pollfd p{a.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 0), 0);
  const auto d = payload(0, 10);
  ASSERT_TRUE(a.send_one(d.data(), d.size(), loopback4(a)));
  EXPECT_EQ(::poll(&p, 1, 3000), 1);
}

TEST(UdpBatchSocket, FwMarkSelectsThePolicyRoute) {
  SOCKSWITCH_REQUIRE_NETNS();
  test::net::NetNamespace ns;
  ns.exec_checked({"ip", "addr", "add", "10.77.0.1/32", "dev", "lo"});
  ns.exec_checked({"ip", "route", "add", "unreachable", "10.77.0.1/32", "table", "77"});
  // The marked rule must come before the local table, which would
  // otherwise deliver to 10.77.0.1 whatever the mark.
  ns.exec_checked({"ip", "rule", "add", "priority", "100", "lookup", "local"});
  ns.exec_checked({"ip", "rule", "del", "priority", "0"});
  ns.exec_checked({"ip", "rule", "add", "fwmark", "0x77", "lookup", "77", "priority", "10"});
  auto [rx, marked] = test::net::in_namespace(ns, [] {
    return std::pair{std::make_unique<UdpBatchSocket>(UdpSocketOptions{}),
                     std::make_unique<UdpBatchSocket>(UdpSocketOptions{.fwmark = 0x77})};
  });
  EXPECT_EQ(marked->fwmark(), 0x77u);
  const auto to = *UdpEndpoint::parse("10.77.0.1:" + std::to_string(rx->port()));
  const auto d = payload(5, 100);
  const std::vector<TxDatagram> burst = {{d.data(), 100, to}};
  EXPECT_EQ(marked->send_burst(burst).errors, 1u);
  marked->set_fwmark(0);
  EXPECT_EQ(marked->send_burst(burst).sent, 1u);
  EXPECT_EQ(receive(*rx, 1).datagrams.size(), 1u);
}

TEST(UdpBatchSocket, GsoAboveTheRouteMtuFallsBackToSeparateDatagrams) {
  SOCKSWITCH_REQUIRE_NETNS();
  test::net::NetNamespace ns;
  ns.exec_checked({"ip", "link", "set", "lo", "mtu", "1500"});
  auto [rx, tx] = test::net::in_namespace(ns, [] {
    return std::pair{std::make_unique<UdpBatchSocket>(UdpSocketOptions{}),
                     std::make_unique<UdpBatchSocket>(UdpSocketOptions{.gso = true})};
  });
  if (!tx->gso()) SOCKSWITCH_SKIP("no UDP GSO here");
  std::vector<std::vector<std::uint8_t>> data;
  for (std::uint32_t i = 0; i < 4; ++i)
    data.push_back(payload(i, 1800));
  const auto r = tx->send_burst(burst_of(data, loopback4(*rx)));
  EXPECT_EQ(r.sent, 4u);
  EXPECT_EQ(r.sent_bytes, 4 * 1800u);
  EXPECT_GE(tx->counters().tx_gso_fallbacks, 1u);
  EXPECT_TRUE(tx->gso());  // EINVAL is about this message, not the device
  const Received got = receive(*rx, 4);
  ASSERT_EQ(got.datagrams.size(), 4u);
  for (std::size_t i = 0; i < 4; ++i)
    EXPECT_EQ(got.datagrams[i], data[i]);
}

TEST(UdpBatchSocket, WireguardGoInitiationArrivesFromItsListenPort) {
  SOCKSWITCH_REQUIRE_NETNS();
  if (auto why = test::net::wireguard_go_missing()) SOCKSWITCH_SKIP(*why);
  test::net::NetNamespace here, there;
  test::net::run_checked({"ip", "-n", here.name(), "link", "add", "ul0", "type", "veth", "peer",
                          "name", "ul1", "netns", there.name()});
  test::net::configure_link(here, "ul0", {"192.0.2.1/30"});
  test::net::configure_link(there, "ul1", {"192.0.2.2/30"});
  auto rx = test::net::in_namespace(
      here, [] { return std::make_unique<UdpBatchSocket>(UdpSocketOptions{}); });
  test::net::WireguardGo wg(there, test::net::unique_link_name('w'));
  if (auto why = wg.wait_ready()) SOCKSWITCH_SKIP(*why);
  const test::net::WgKeyPair theirs = test::net::make_wg_keys(), ours = test::net::make_wg_keys();
  const test::net::SecretFile key(theirs.private_key);
  const std::string endpoint = "192.0.2.1:" + std::to_string(rx->port());
  wg.set({"private-key", key.path(), "listen-port", "51820", "peer", ours.public_key, "endpoint",
          endpoint, "allowed-ips", "10.9.0.2/32"});
  test::net::configure_link(there, wg.name(), {"10.9.0.1/24"});
  // Traffic for the peer makes wireguard-go start a handshake.
  (void)there.exec({"ping", "-c", "1", "-W", "1", "10.9.0.2"}, 3s);
  const Received got = receive(*rx, 1);
  ASSERT_EQ(got.datagrams.size(), 1u) << wg.log();
  const std::vector<std::uint8_t>& d = got.datagrams[0];
  ASSERT_EQ(d.size(), 148u);
  EXPECT_EQ(d[0], 1);  // handshake initiation, three reserved zero bytes
  EXPECT_EQ(d[1] | d[2] | d[3], 0);
  EXPECT_EQ(got.sources[0], *UdpEndpoint::parse("192.0.2.2:51820"));
  const auto peers = wg.peers();
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].public_key, ours.public_key);
  EXPECT_EQ(peers[0].endpoint, endpoint);
  EXPECT_EQ(peers[0].latest_handshake, 0);  // nobody answered
}

}  // namespace
}  // namespace sockswitch::ports
