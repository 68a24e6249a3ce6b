// tests/ports/l3_ethernet_test.cc: the L3 <-> Ethernet adapter on crafted frames.
//
// Plan: feed bare IP packets (device side) and Ethernet frames (bridge side)
// built byte by byte; check the synthesised/stripped headers, the exact
// bytes of ARP replies and Neighbor Advertisements (including a checksum
// recomputed here independently), the answering rule, and the bounds of the
// reply queue.
#include "ports/l3_ethernet.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "tests/dataplane/frame_builder.h"

namespace sockswitch::ports {
namespace {

using dataplane::test::FrameBuilder;
using packet::MacAddr;
using packet::Packet;
using packet::PacketPool;
using Tx = L3Ethernet::TxAction;

constexpr std::uint64_t kPortMac = 0x02aabbccdd01;
constexpr std::uint64_t kHostMac = 0x5254000000aa;
constexpr std::uint64_t kBcast = 0xffffffffffff;
constexpr std::uint32_t kHostIp = 0x0a000001, kRemoteIp = 0x0a000002;
const flowtable::Wide kHostIp6{0xfd00000000000000, 1}, kRemoteIp6{0xfd00000000000000, 2};

FrameBuilder::Ipv4 v4(std::uint32_t src, std::uint32_t dst, std::uint8_t proto = 17) {
  FrameBuilder::Ipv4 h;
  h.src = src, h.dst = dst, h.proto = proto;
  return h;
}
FrameBuilder::Ipv6 v6(flowtable::Wide src, flowtable::Wide dst, std::uint8_t next = 17,
                      std::uint8_t hop_limit = 64) {
  FrameBuilder::Ipv6 h;
  h.src = src, h.dst = dst, h.next = next, h.hop_limit = hop_limit;
  return h;
}

// Claims: `ours` lie behind the device, `others` are routed elsewhere.
std::unique_ptr<NeighborClaims> claims(std::initializer_list<const char*> ours,
                                       std::initializer_list<const char*> others = {}) {
  std::vector<NeighborClaims::Route> routes;
  for (const char* p : ours)
    routes.push_back({*ClaimPrefix::parse(p), true});
  for (const char* p : others)
    routes.push_back({*ClaimPrefix::parse(p), false});
  return std::make_unique<NeighborClaims>(std::move(routes), NeighborClaims::Source::proxy);
}

struct L3EthernetTest : ::testing::Test {
  PacketPool pool{64};
  L3Neighbors neighbors;
  L3Ethernet l3{MacAddr{kPortMac}, neighbors};

  // Everything lies behind the device unless a test says otherwise.
  L3EthernetTest() { neighbors.claims.publish(claims({"0.0.0.0/0", "::/0"})); }

  Packet* packet(const std::vector<std::uint8_t>& bytes) {
    Packet* p = pool.alloc();
    std::memcpy(p->append(static_cast<std::uint32_t>(bytes.size())), bytes.data(), bytes.size());
    return p;
  }
  static std::vector<std::uint8_t> bytes(const Packet& p) {
    return {p.data(), p.data() + p.length()};
  }
  // Runs `frame` through to_device and returns the action; the packet is freed.
  Tx send(const std::vector<std::uint8_t>& frame, std::vector<std::uint8_t>* sent = nullptr) {
    Packet* p = packet(frame);
    const Tx a = l3.to_device(*p);
    if (sent) *sent = bytes(*p);
    pool.free(p);
    return a;
  }
  std::vector<std::vector<std::uint8_t>> replies() {
    std::array<Packet*, 32> out{};
    const std::size_t n = l3.take_replies(pool, out);
    std::vector<std::vector<std::uint8_t>> r;
    for (std::size_t i = 0; i < n; ++i) {
      r.push_back(bytes(*out[i]));
      pool.free(out[i]);
    }
    return r;
  }
  // An IPv4 packet from the host (bridge side) to the remote, as a frame.
  static std::vector<std::uint8_t> host_ipv4_frame(std::size_t pad = 0) {
    FrameBuilder f;
    f.eth(kPortMac, kHostMac, 0x0800).ipv4(v4(kHostIp, kRemoteIp));
    f.udp(1, 2);
    auto v = f.build();
    v.insert(v.end(), pad, 0);
    return v;
  }
  static std::vector<std::uint8_t> arp_request(std::uint32_t spa, std::uint32_t tpa) {
    return FrameBuilder().eth(kBcast, kHostMac, 0x0806).arp(1, kHostMac, spa, 0, tpa).build();
  }
  static std::vector<std::uint8_t> neighbor_solicit(flowtable::Wide src, flowtable::Wide target) {
    FrameBuilder f;
    f.eth(0x3333ff000002, kHostMac, 0x86dd)
        .ipv6(v6(src, {0xff02000000000000, 0x00000001ff000002}, 58, 255))
        .nd(135, target)
        .nd_lla(1, kHostMac);
    return f.build();
  }
};

std::uint64_t mac_at(const std::vector<std::uint8_t>& b, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 0; i < 6; ++i)
    v = v << 8 | b[at + i];
  return v;
}
std::uint32_t u32_at(const std::vector<std::uint8_t>& b, std::size_t at) {
  return std::uint32_t(b[at]) << 24 | b[at + 1] << 16 | b[at + 2] << 8 | b[at + 3];
}

TEST_F(L3EthernetTest, ReceiveSynthesisesBroadcastHeaderUntilTheDestinationIsLearned) {
  const auto ip = FrameBuilder().ipv4(v4(kRemoteIp, kHostIp)).udp(1, 2).build();
  Packet* p = packet(ip);
  ASSERT_TRUE(l3.to_bridge(*p));
  auto f = bytes(*p);
  ASSERT_EQ(f.size(), ip.size() + 14);
  EXPECT_EQ(mac_at(f, 0), kBcast);
  EXPECT_EQ(mac_at(f, 6), kPortMac);
  EXPECT_EQ(f[12], 0x08);
  EXPECT_EQ(f[13], 0x00);
  EXPECT_TRUE(std::equal(ip.begin(), ip.end(), f.begin() + 14));
  pool.free(p);

  // The host sends through the port: now its MAC is known for its IP.
  ASSERT_EQ(send(host_ipv4_frame()), Tx::send);
  p = packet(ip);
  ASSERT_TRUE(l3.to_bridge(*p));
  EXPECT_EQ(mac_at(bytes(*p), 0), kHostMac);
  pool.free(p);
}

TEST_F(L3EthernetTest, ReceiveMapsMulticastAndIpv6) {
  Packet* p = packet(FrameBuilder().ipv4(v4(kRemoteIp, 0xe1020304)).build());
  ASSERT_TRUE(l3.to_bridge(*p));
  EXPECT_EQ(mac_at(bytes(*p), 0), 0x01005e020304u);
  pool.free(p);
  p = packet(FrameBuilder().ipv6(v6(kRemoteIp6, {0xff02000000000000, 0x1ff00abcd})).build());
  ASSERT_TRUE(l3.to_bridge(*p));
  EXPECT_EQ(mac_at(bytes(*p), 0), 0x3333ff00abcdu);
  EXPECT_EQ(bytes(*p)[12], 0x86);
  pool.free(p);
}

TEST_F(L3EthernetTest, ReceiveRejectsNonIp) {
  Packet* p = packet({0x00, 0x01, 0x02});
  EXPECT_FALSE(l3.to_bridge(*p));
  EXPECT_EQ(l3.counters().rx_not_ip, 1u);
  pool.free(p);
}

TEST_F(L3EthernetTest, TransmitStripsHeaderPaddingAndVlanTags) {
  const auto frame = host_ipv4_frame(/*pad=*/10);
  std::vector<std::uint8_t> sent;
  ASSERT_EQ(send(frame, &sent), Tx::send);
  EXPECT_EQ(sent, std::vector<std::uint8_t>(frame.begin() + 14, frame.end() - 10));

  FrameBuilder tagged;
  tagged.eth_addrs(kPortMac, kHostMac)
      .tag(0x8100, 5)
      .type(0x86dd)
      .ipv6(v6(kHostIp6, kRemoteIp6))
      .udp(1, 2);
  const auto t = tagged.build();
  ASSERT_EQ(send(t, &sent), Tx::send);
  EXPECT_EQ(sent, std::vector<std::uint8_t>(t.begin() + 18, t.end()));
}

TEST_F(L3EthernetTest, TransmitDropsNonIpAndMalformed) {
  EXPECT_EQ(send(FrameBuilder().eth(kBcast, kHostMac, 0x88cc).zeros(46).build()), Tx::drop);
  auto bad = host_ipv4_frame();
  bad[14 + 3] = 200;  // IPv4 total length past the frame
  EXPECT_EQ(send(bad), Tx::drop);
  EXPECT_EQ(send({1, 2, 3}), Tx::drop);
  EXPECT_EQ(l3.counters().non_ip, 3u);
}

TEST_F(L3EthernetTest, AnswersArpRequestsLikeAProxyRouter) {
  ASSERT_EQ(send(arp_request(kHostIp, kRemoteIp)), Tx::consumed);
  const auto r = replies();
  ASSERT_EQ(r.size(), 1u);
  const auto& a = r[0];
  ASSERT_EQ(a.size(), 60u);  // padded to the Ethernet minimum
  EXPECT_EQ(mac_at(a, 0), kHostMac);
  EXPECT_EQ(mac_at(a, 6), kPortMac);
  EXPECT_EQ(a[12] << 8 | a[13], 0x0806);
  EXPECT_EQ(a[14 + 6] << 8 | a[14 + 7], 2);  // reply
  EXPECT_EQ(mac_at(a, 14 + 8), kPortMac);    // sender: the port
  EXPECT_EQ(u32_at(a, 14 + 14), kRemoteIp);  // for the asked address
  EXPECT_EQ(mac_at(a, 14 + 18), kHostMac);   // target: the asker
  EXPECT_EQ(u32_at(a, 14 + 24), kHostIp);
  EXPECT_EQ(l3.counters().arp_replies, 1u);
  // The asker was learned from the request.
  EXPECT_EQ(l3.neighbors().lookup(IpKey::v4(&a[14 + 24])), MacAddr{kHostMac});
}

TEST_F(L3EthernetTest, DoesNotAnswerForBridgeSideAddressesOrProbes) {
  // 10.0.0.3 has been seen sending from the bridge: it lives there.
  ASSERT_EQ(send(FrameBuilder()
                     .eth(kBcast, 0x525400000003, 0x0806)
                     .arp(1, 0x525400000003, 0x0a000003, 0, kHostIp)
                     .build()),
            Tx::consumed);
  EXPECT_EQ(replies().size(), 1u);  // it asked for 10.0.0.1, not known on the bridge yet
  EXPECT_EQ(send(arp_request(kHostIp, 0x0a000003)), Tx::consumed);
  EXPECT_EQ(send(arp_request(0, kRemoteIp)), Tx::consumed);      // probe
  EXPECT_EQ(send(arp_request(kHostIp, kHostIp)), Tx::consumed);  // gratuitous
  EXPECT_EQ(send(FrameBuilder()
                     .eth(kHostMac, 0x525400000003, 0x0806)
                     .arp(2, 0x525400000003, 0x0a000003, kHostMac, kHostIp)
                     .build()),
            Tx::consumed);  // a reply: learned from, never answered
  EXPECT_TRUE(replies().empty());
}

TEST_F(L3EthernetTest, AnswersOnlyForWhatLiesBehindTheDevice) {
  // warp0 on the VPS: a default route through it, the containers' subnet on
  // the bridge's own device, the underlay elsewhere.
  neighbors.claims.publish(claims({"0.0.0.0/0"}, {"10.0.0.0/24", "192.0.2.0/30", "0.0.0.0/0"}));
  EXPECT_EQ(send(arp_request(kHostIp, 0x0a000005)), Tx::consumed);  // 10.0.0.5: the bridge's
  EXPECT_EQ(send(arp_request(kHostIp, 0xc0000202)), Tx::consumed);  // 192.0.2.2: the underlay's
  EXPECT_TRUE(replies().empty());
  EXPECT_EQ(l3.counters().not_behind, 2u);
  // 198.51.100.1: two defaults, one of them ours, so it is ours.
  EXPECT_EQ(send(arp_request(kHostIp, 0xc6336401)), Tx::consumed);
  EXPECT_EQ(replies().size(), 1u);
  // An IPv6 default covers no IPv4 address, and nothing covers this one.
  neighbors.claims.publish(claims({"::/0"}));
  EXPECT_EQ(send(arp_request(kHostIp, 0xc6336401)), Tx::consumed);
  EXPECT_EQ(send(neighbor_solicit(kHostIp6, kRemoteIp6)), Tx::consumed);
  EXPECT_EQ(replies().size(), 1u);  // the solicitation only
  // A host route behind a device inside a subnet routed elsewhere (a
  // Netmaker peer on the bridge's subnet) is more specific, so it is ours.
  neighbors.claims.publish(claims({"10.0.0.50/32"}, {"10.0.0.0/24"}));
  EXPECT_EQ(send(arp_request(kHostIp, 0x0a000032)), Tx::consumed);
  EXPECT_EQ(send(arp_request(kHostIp, 0x0a000033)), Tx::consumed);
  EXPECT_EQ(replies().size(), 1u);
}

TEST_F(L3EthernetTest, AnswersNothingBeforeTheControlThreadSaysWhatIsBehind) {
  L3Neighbors fresh;
  L3Ethernet blank{MacAddr{kPortMac}, fresh};
  Packet* p = packet(arp_request(kHostIp, kRemoteIp));
  EXPECT_EQ(blank.to_device(*p), Tx::consumed);
  pool.free(p);
  EXPECT_EQ(blank.pending_replies(), 0u);
  EXPECT_EQ(blank.counters().not_behind, 1u);
}

TEST_F(L3EthernetTest, QueuesOfOnePortShareWhatTheyLearned) {
  // A multi-queue tun: the switch transmits on queue 0 and the device's
  // packets come back on any queue; each must address the learned host.
  L3Ethernet queue1{MacAddr{kPortMac}, neighbors};
  ASSERT_EQ(send(host_ipv4_frame()), Tx::send);  // through queue 0's adapter
  FrameBuilder reply;
  reply.ipv4(v4(kRemoteIp, kHostIp)).udp(2, 1);
  Packet* p = packet(reply.build());
  ASSERT_TRUE(queue1.to_bridge(*p));
  EXPECT_EQ(mac_at(bytes(*p), 0), kHostMac);
  pool.free(p);
}

TEST(NeighborClaimsPrefix, ParsesPrintsAndContains) {
  EXPECT_EQ(ClaimPrefix::parse("10.2.0.7/24")->to_string(), "10.2.0.0/24");
  EXPECT_EQ(ClaimPrefix::parse("10.2.0.50")->to_string(), "10.2.0.50/32");
  EXPECT_EQ(ClaimPrefix::parse("fd00::1/64")->to_string(), "fd00::/64");
  EXPECT_EQ(ClaimPrefix::parse("0.0.0.0/0")->to_string(), "0.0.0.0/0");
  for (const char* bad :
       {"", "10.2.0.0/33", "10.2.0.0/", "10.2.0/24", "fd00::/129", "x/8", "10.2.0.0/8x", "warp0"})
    EXPECT_FALSE(ClaimPrefix::parse(bad)) << bad;
  const std::uint8_t in[4] = {10, 2, 0, 9}, out[4] = {10, 3, 0, 9};
  EXPECT_TRUE(ClaimPrefix::parse("10.2.0.0/16")->contains(IpKey::v4(in)));
  EXPECT_FALSE(ClaimPrefix::parse("10.2.0.0/16")->contains(IpKey::v4(out)));
  EXPECT_FALSE(ClaimPrefix::parse("::/0")->contains(IpKey::v4(in)));
  EXPECT_EQ(claims({"10.2.0.50/32"}, {"0.0.0.0/0"})->describe(), "10.2.0.50/32 (proxy)");
  EXPECT_EQ(claims({})->describe(), "nothing (proxy)");
}

TEST_F(L3EthernetTest, AnswersNeighborSolicitationWithAValidAdvertisement) {
  ASSERT_EQ(send(neighbor_solicit(kHostIp6, kRemoteIp6)), Tx::consumed);
  const auto r = replies();
  ASSERT_EQ(r.size(), 1u);
  const auto& na = r[0];
  ASSERT_EQ(na.size(), 14u + 40 + 32);
  EXPECT_EQ(mac_at(na, 0), kHostMac);
  EXPECT_EQ(mac_at(na, 6), kPortMac);
  EXPECT_EQ(na[14] >> 4, 6);
  EXPECT_EQ(na[14 + 4] << 8 | na[14 + 5], 32);  // payload length
  EXPECT_EQ(na[14 + 6], 58);
  EXPECT_EQ(na[14 + 7], 255);
  const std::uint8_t* ip = na.data() + 14;
  const std::uint8_t* icmp = ip + 40;
  EXPECT_EQ(IpKey::v6(ip + 8), IpKey::v6(icmp + 8));  // from the target address
  FrameBuilder host;
  host.ip6(kHostIp6);
  const auto host_bytes = host.build();
  EXPECT_TRUE(std::equal(host_bytes.begin(), host_bytes.end(), ip + 24));  // to the asker
  EXPECT_EQ(icmp[0], 136);
  EXPECT_EQ(icmp[4], 0x60);  // solicited, override, not a router
  EXPECT_EQ(icmp[24], 2);    // target link-layer address option
  EXPECT_EQ(icmp[25], 1);
  EXPECT_EQ(mac_at(na, 14 + 40 + 26), kPortMac);

  // Checksum, recomputed from scratch: the sum over pseudo-header and
  // message, checksum included, folds to 0xffff.
  std::uint32_t sum = 0;
  for (int i = 8; i < 40; i += 2)
    sum += ip[i] << 8 | ip[i + 1];
  sum += 32 + 58;
  for (int i = 0; i < 32; i += 2)
    sum += icmp[i] << 8 | icmp[i + 1];
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(sum, 0xffffu);
  EXPECT_EQ(l3.counters().nd_replies, 1u);
}

TEST_F(L3EthernetTest, IgnoresDuplicateAddressDetectionAndOtherNd) {
  EXPECT_EQ(send(neighbor_solicit({0, 0}, kRemoteIp6)), Tx::consumed);
  FrameBuilder rs;
  rs.eth(0x333300000002, kHostMac, 0x86dd)
      .ipv6(v6(kHostIp6, {0xff02000000000000, 2}, 58, 255))
      .icmp(133, 0);
  EXPECT_EQ(send(rs.build()), Tx::consumed);
  EXPECT_TRUE(replies().empty());
  EXPECT_EQ(l3.counters().consumed, 2u);
}

TEST_F(L3EthernetTest, ReplyQueueIsBounded) {
  for (std::uint32_t i = 0; i < L3Ethernet::kReplyQueue + 4; ++i)
    ASSERT_EQ(send(arp_request(kHostIp, 0x0b000000 + i)), Tx::consumed);
  EXPECT_EQ(l3.pending_replies(), L3Ethernet::kReplyQueue);
  EXPECT_EQ(l3.counters().replies_dropped, 4u);
  // An almost empty pool hands out what it can; the rest stay queued.
  PacketPool small(2);
  std::array<Packet*, 32> out{};
  EXPECT_EQ(l3.take_replies(small, out), 2u);
  small.free_burst(std::span(out).first(2));
  EXPECT_EQ(l3.pending_replies(), L3Ethernet::kReplyQueue - 2);
  EXPECT_EQ(replies().size(), L3Ethernet::kReplyQueue - 2);
}

TEST(L3EthernetMac, NameDerivedMacIsStableLocalUnicast) {
  const MacAddr a = L3Ethernet::mac_for_name("warp0");
  EXPECT_EQ(a, L3Ethernet::mac_for_name("warp0"));
  EXPECT_NE(a, L3Ethernet::mac_for_name("warp1"));
  EXPECT_FALSE(a.is_multicast());
  EXPECT_TRUE((a.bits >> 40) & 0x02);
}

TEST(NeighborSnoop, StaysWithinItsCapacityAndKeepsRecentEntries) {
  NeighborSnoop t;
  std::uint8_t ip[4];
  for (std::uint32_t i = 0; i < 10 * NeighborSnoop::kCapacity; ++i) {
    const std::uint32_t a = 0x0a000000 + i;
    ip[0] = a >> 24, ip[1] = a >> 16 & 0xff, ip[2] = a >> 8 & 0xff, ip[3] = a & 0xff;
    t.learn(IpKey::v4(ip), MacAddr{0x020000000000ULL + i});
    ASSERT_LE(t.size(), NeighborSnoop::kCapacity);
  }
  EXPECT_GT(t.size(), NeighborSnoop::kCapacity / 2);
  // The last address learned is always found, with its latest MAC.
  EXPECT_EQ(t.lookup(IpKey::v4(ip)),
            MacAddr{0x020000000000ULL + 10 * NeighborSnoop::kCapacity - 1});
  t.learn(IpKey::v4(ip), MacAddr{0x02ffffffffff});
  EXPECT_EQ(t.lookup(IpKey::v4(ip)), MacAddr{0x02ffffffffff});
  ip[0] = 192;
  EXPECT_FALSE(t.lookup(IpKey::v4(ip)).has_value());
  t.clear();
  EXPECT_EQ(t.size(), 0u);
}

}  // namespace
}  // namespace sockswitch::ports
