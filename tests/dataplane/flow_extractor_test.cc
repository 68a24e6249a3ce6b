// tests/dataplane/flow_extractor_test.cc: well-formed frames of every kind the
// extractor knows, each checked field by field against the whole expected key
// (so a stray field fails the test as surely as a missing one).
#include "dataplane/flow_extractor.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/dataplane/frame_builder.h"
#include "tests/dataplane/key_diff.h"

// g++ 12 warns when a designated initializer leaves out members that have
// defaults ({.proto = 17}); leaving them out is the point of the defaults.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace sockswitch::dataplane {
namespace {

using flowtable::FieldId;
using flowtable::FlowKey;
using flowtable::PortNo;
using flowtable::Wide;
using test::FrameBuilder;
using test::key_diff;

constexpr std::uint64_t kDst = 0x02000000'00bb;
constexpr std::uint64_t kSrc = 0x02000000'00aa;
constexpr PortNo kPort{7};

ParseResult extract(const std::vector<std::uint8_t>& f, FlowKey& key) {
  return extract_flow(std::span(f), kPort, key);
}

// The L2 part every test frame shares.
FlowKey l2_key(std::uint16_t eth_type, std::uint16_t tci = 0) {
  FlowKey k;
  k.set(FieldId::in_port, 7);
  k.set(FieldId::eth_dst, kDst);
  k.set(FieldId::eth_src, kSrc);
  k.set(FieldId::eth_type, eth_type);
  k.set(FieldId::vlan_tci, tci);
  return k;
}

FlowKey ipv4_key(std::uint8_t proto, std::uint16_t tci = 0) {
  FlowKey k = l2_key(flowtable::kEthTypeIpv4, tci);
  k.set(FieldId::ip_proto, proto);
  k.set(FieldId::ip_ttl, 64);
  k.set(FieldId::ipv4_src, 0x0a000001);
  k.set(FieldId::ipv4_dst, 0x0a000002);
  return k;
}

FlowKey ipv6_key(std::uint8_t proto) {
  FlowKey k = l2_key(flowtable::kEthTypeIpv6);
  k.set(FieldId::ip_proto, proto);
  k.set(FieldId::ip_ttl, 64);
  k.set_wide(FieldId::ipv6_src, {0x20010db800000000, 1});
  k.set_wide(FieldId::ipv6_dst, {0x20010db800000000, 2});
  return k;
}

TEST(FlowExtractor, Ipv4Tcp) {
  const auto f = FrameBuilder()
                     .eth(kDst, kSrc, 0x0800)
                     .ipv4({.tos = 0xb9, .ttl = 63})
                     .tcp(40000, 443, 0x012)
                     .build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  FlowKey want = ipv4_key(6);
  want.set(FieldId::ip_tos, 0xb9);
  want.set(FieldId::ip_ttl, 63);
  want.set(FieldId::tp_src, 40000);
  want.set(FieldId::tp_dst, 443);
  want.set(FieldId::tcp_flags, 0x012);
  EXPECT_EQ(key_diff(key, want), "");
  EXPECT_EQ(key.get(FieldId::tcp_flags), 0x012u);
}

TEST(FlowExtractor, Ipv4TcpWithOptionsAndPadding) {
  // 8 bytes of IP options, 12 of TCP options, then Ethernet padding to 60+.
  auto f = FrameBuilder()
               .eth(kDst, kSrc, 0x0800)
               .ipv4({.ihl = 7, .options = 8})
               .tcp(1, 2, 0x1ff, 8)
               .build();
  f.resize(f.size() + 10, 0xee);  // padding beyond the IP total length
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  FlowKey want = ipv4_key(6);
  want.set(FieldId::tp_src, 1);
  want.set(FieldId::tp_dst, 2);
  want.set(FieldId::tcp_flags, 0x1ff);
  EXPECT_EQ(key_diff(key, want), "");
}

TEST(FlowExtractor, Ipv4Udp) {
  auto f = FrameBuilder().eth(kDst, kSrc, 0x0800).ipv4({.proto = 17}).udp(5353, 53).build();
  f.resize(60, 0);  // minimum Ethernet frame
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  FlowKey want = ipv4_key(17);
  want.set(FieldId::tp_src, 5353);
  want.set(FieldId::tp_dst, 53);
  EXPECT_EQ(key_diff(key, want), "");
}

TEST(FlowExtractor, Ipv4Icmp) {
  const auto f = FrameBuilder().eth(kDst, kSrc, 0x0800).ipv4({.proto = 1}).icmp(3, 4).build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  FlowKey want = ipv4_key(1);
  want.set(FieldId::tp_src, 3);
  want.set(FieldId::tp_dst, 4);
  EXPECT_EQ(key_diff(key, want), "");
}

TEST(FlowExtractor, Ipv4Sctp) {
  const auto f =
      FrameBuilder().eth(kDst, kSrc, 0x0800).ipv4({.proto = 132}).sctp(36412, 38412).build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  FlowKey want = ipv4_key(132);
  want.set(FieldId::tp_src, 36412);
  want.set(FieldId::tp_dst, 38412);
  EXPECT_EQ(key_diff(key, want), "");
}

TEST(FlowExtractor, Ipv4OtherProtocolHasNoL4) {
  const auto f = FrameBuilder().eth(kDst, kSrc, 0x0800).ipv4({.proto = 47}).zeros(8).build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  EXPECT_EQ(key_diff(key, ipv4_key(47)), "");
}

TEST(FlowExtractor, Ipv4FirstFragmentKeepsPorts) {
  const auto f = FrameBuilder()
                     .eth(kDst, kSrc, 0x0800)
                     .ipv4({.proto = 17, .frag = 0x2000})  // MF, offset 0
                     .udp(1000, 2000)
                     .build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  FlowKey want = ipv4_key(17);
  want.set(FieldId::ip_frag, 1);
  want.set(FieldId::tp_src, 1000);
  want.set(FieldId::tp_dst, 2000);
  EXPECT_EQ(key_diff(key, want), "");
}

TEST(FlowExtractor, Ipv4LaterFragmentHasNoPorts) {
  for (std::uint16_t frag : {std::uint16_t{0x2000 | 185}, std::uint16_t{185}}) {  // middle, last
    const auto f = FrameBuilder()
                       .eth(kDst, kSrc, 0x0800)
                       .ipv4({.proto = 17, .frag = frag})
                       .udp(1000, 2000)  // payload bytes that merely look like a header
                       .build();
    FlowKey key;
    ASSERT_EQ(extract(f, key), ParseResult::ok);
    FlowKey want = ipv4_key(17);
    want.set(FieldId::ip_frag, 3);
    EXPECT_EQ(key_diff(key, want), "") << "frag word " << frag;
  }
}

TEST(FlowExtractor, DontFragmentIsNotAFragment) {
  const auto f =
      FrameBuilder().eth(kDst, kSrc, 0x0800).ipv4({.proto = 17, .frag = 0x4000}).udp(1, 2).build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  EXPECT_EQ(key.get(FieldId::ip_frag), 0u);
  EXPECT_EQ(key.get(FieldId::tp_dst), 2u);
}

TEST(FlowExtractor, ArpRequestAndReply) {
  const auto req = FrameBuilder()
                       .eth(0xffffffffffff, kSrc, 0x0806)
                       .arp(1, kSrc, 0x0a000001, 0, 0x0a0000fe)
                       .build();
  FlowKey key;
  ASSERT_EQ(extract(req, key), ParseResult::ok);
  FlowKey want = l2_key(0x0806);
  want.set(FieldId::eth_dst, 0xffffffffffff);
  want.set(FieldId::ip_proto, 1);
  want.set(FieldId::ipv4_src, 0x0a000001);
  want.set(FieldId::ipv4_dst, 0x0a0000fe);
  want.set(FieldId::arp_sha, kSrc);
  EXPECT_EQ(key_diff(key, want), "");

  const auto reply =
      FrameBuilder().eth(kDst, kSrc, 0x0806).arp(2, kSrc, 0x0a0000fe, kDst, 0x0a000001).build();
  ASSERT_EQ(extract(reply, key), ParseResult::ok);
  EXPECT_EQ(key.get(FieldId::ip_proto), 2u);
  EXPECT_EQ(key.get(FieldId::arp_tha), kDst);
  EXPECT_EQ(key.get(FieldId::ipv4_dst), 0x0a000001u);
}

TEST(FlowExtractor, RarpIsParsedLikeArp) {
  const auto f = FrameBuilder().eth(kDst, kSrc, 0x8035).arp(3, kSrc, 0, kSrc, 0).build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  EXPECT_EQ(key.get(FieldId::ip_proto), 3u);
  EXPECT_EQ(key.get(FieldId::arp_sha), kSrc);
}

TEST(FlowExtractor, ArpOpcodeAbove255IsNotAliased) {
  // 0x0101 must not match arp_op=1.
  const auto f = FrameBuilder().eth(kDst, kSrc, 0x0806).arp(0x0101, kSrc, 1, 0, 2).build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  EXPECT_EQ(key.get(FieldId::ip_proto), 0u);
  EXPECT_EQ(key.get(FieldId::ipv4_src), 1u);
}

TEST(FlowExtractor, NonEthernetArpIsBadL3) {
  const auto f = FrameBuilder()
                     .eth(kDst, kSrc, 0x0806)
                     .u16(6)  // IEEE 802 hardware
                     .u16(0x0800)
                     .u8(6)
                     .u8(4)
                     .u16(1)
                     .zeros(20)
                     .build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::bad_l3);
  EXPECT_EQ(key_diff(key, l2_key(0x0806)), "");
}

TEST(FlowExtractor, SingleVlanTag) {
  const auto f = FrameBuilder()
                     .eth_addrs(kDst, kSrc)
                     .tag(0x8100, 5 << 13 | 100)
                     .type(0x0800)
                     .ipv4({.proto = 17})
                     .udp(67, 68)
                     .build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  FlowKey want = ipv4_key(17, 5 << 13 | 0x1000 | 100);
  want.set(FieldId::tp_src, 67);
  want.set(FieldId::tp_dst, 68);
  EXPECT_EQ(key_diff(key, want), "");
}

TEST(FlowExtractor, VlanZeroIsStillTagged) {
  // A priority tag (VID 0) is a tag: the CFI bit tells it from "no tag".
  const auto f = FrameBuilder()
                     .eth_addrs(kDst, kSrc)
                     .tag(0x8100, 0)
                     .type(0x0806)
                     .arp(1, kSrc, 1, 0, 2)
                     .build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  EXPECT_EQ(key.get(FieldId::vlan_tci), 0x1000u);
  EXPECT_EQ(key.get(FieldId::eth_type), 0x0806u);
}

TEST(FlowExtractor, QinQKeepsOuterTag) {
  const auto f = FrameBuilder()
                     .eth_addrs(kDst, kSrc)
                     .tag(0x88a8, 10)
                     .tag(0x8100, 20)
                     .type(0x0800)
                     .ipv4({})
                     .tcp(1, 2, 0x002)
                     .build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  FlowKey want = ipv4_key(6, 0x1000 | 10);
  want.set(FieldId::tp_src, 1);
  want.set(FieldId::tp_dst, 2);
  want.set(FieldId::tcp_flags, 2);
  EXPECT_EQ(key_diff(key, want), "");
}

TEST(FlowExtractor, ThirdVlanTagStops) {
  const auto f = FrameBuilder()
                     .eth_addrs(kDst, kSrc)
                     .tag(0x8100, 1)
                     .tag(0x8100, 2)
                     .tag(0x8100, 3)
                     .type(0x0800)
                     .ipv4({})
                     .tcp(1, 2, 0)
                     .build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::vlan_depth);
  EXPECT_EQ(key_diff(key, l2_key(0x8100, 0x1000 | 1)), "");
}

TEST(FlowExtractor, Ieee8023LengthFrame) {
  // An STP BPDU: 802.3 length, LLC 42 42 03.
  auto f = FrameBuilder().eth(0x0180c2000000, kSrc, 38).raw({0x42, 0x42, 0x03}).zeros(35).build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  FlowKey want = l2_key(0x05ff);
  want.set(FieldId::eth_dst, 0x0180c2000000);
  EXPECT_EQ(key_diff(key, want), "");
}

TEST(FlowExtractor, LlcSnapCarriesEtherType) {
  const auto f = FrameBuilder()
                     .eth(kDst, kSrc, 60)
                     .raw({0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00})
                     .ipv4({.proto = 17})
                     .udp(7, 9)
                     .build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  FlowKey want = ipv4_key(17);
  want.set(FieldId::tp_src, 7);
  want.set(FieldId::tp_dst, 9);
  EXPECT_EQ(key_diff(key, want), "");
}

TEST(FlowExtractor, Ipv6TcpThroughExtensionHeaders) {
  const auto f = FrameBuilder()
                     .eth(kDst, kSrc, 0x86dd)
                     .ipv6({.next = 0, .tclass = 0xb8, .label = 0xabcde, .hop_limit = 255})
                     .ext(43)     // hop-by-hop -> routing
                     .ext(60, 1)  // routing (16 bytes) -> destination options
                     .ext(6)      // destination options -> TCP
                     .tcp(22, 50000, 0x018)
                     .build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  FlowKey want = ipv6_key(6);
  want.set(FieldId::ip_tos, 0xb8);
  want.set(FieldId::ip_ttl, 255);
  want.set(FieldId::ipv6_label, 0xabcde);
  want.set(FieldId::tp_src, 22);
  want.set(FieldId::tp_dst, 50000);
  want.set(FieldId::tcp_flags, 0x018);
  EXPECT_EQ(key_diff(key, want), "");
}

TEST(FlowExtractor, Ipv6AuthenticationHeader) {
  const auto f =
      FrameBuilder().eth(kDst, kSrc, 0x86dd).ipv6({.next = 51}).ah(17).udp(500, 4500).build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  FlowKey want = ipv6_key(17);
  want.set(FieldId::tp_src, 500);
  want.set(FieldId::tp_dst, 4500);
  EXPECT_EQ(key_diff(key, want), "");
}

TEST(FlowExtractor, Ipv6FirstFragment) {
  const auto f = FrameBuilder()
                     .eth(kDst, kSrc, 0x86dd)
                     .ipv6({.next = 44})
                     .frag6(17, 0, true)
                     .udp(1, 2)
                     .build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  FlowKey want = ipv6_key(17);
  want.set(FieldId::ip_frag, 1);
  want.set(FieldId::tp_src, 1);
  want.set(FieldId::tp_dst, 2);
  EXPECT_EQ(key_diff(key, want), "");
}

TEST(FlowExtractor, Ipv6LaterFragment) {
  const auto f = FrameBuilder()
                     .eth(kDst, kSrc, 0x86dd)
                     .ipv6({.next = 44})
                     .frag6(17, 100, false)
                     .udp(1, 2)
                     .build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  FlowKey want = ipv6_key(44);  // as OVS: a later fragment reports the fragment header
  want.set(FieldId::ip_frag, 3);
  EXPECT_EQ(key_diff(key, want), "");
}

TEST(FlowExtractor, Ipv6AtomicFragmentIsNotAFragment) {
  const auto f = FrameBuilder()
                     .eth(kDst, kSrc, 0x86dd)
                     .ipv6({.next = 44})
                     .frag6(17, 0, false)
                     .udp(1, 2)
                     .build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  EXPECT_EQ(key.get(FieldId::ip_frag), 0u);
  EXPECT_EQ(key.get(FieldId::ip_proto), 17u);
  EXPECT_EQ(key.get(FieldId::tp_dst), 2u);
}

TEST(FlowExtractor, Icmpv6Echo) {
  const auto f = FrameBuilder().eth(kDst, kSrc, 0x86dd).ipv6({.next = 58}).icmp(128, 0).build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  FlowKey want = ipv6_key(58);
  want.set(FieldId::tp_src, 128);
  EXPECT_EQ(key_diff(key, want), "");
}

constexpr Wide kTarget{0xfe80000000000000, 0x00000000000000bb};

TEST(FlowExtractor, NeighborSolicitationWithSourceLinkAddress) {
  const auto f = FrameBuilder()
                     .eth(0x3333ff0000bb, kSrc, 0x86dd)
                     .ipv6({.next = 58, .hop_limit = 255})
                     .nd(135, kTarget)
                     .nd_lla(1, kSrc)
                     .build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  FlowKey want = ipv6_key(58);
  want.set(FieldId::eth_dst, 0x3333ff0000bb);
  want.set(FieldId::ip_ttl, 255);
  want.set(FieldId::tp_src, 135);
  want.set_wide(FieldId::nd_target, kTarget);
  want.set(FieldId::arp_sha, kSrc);
  EXPECT_EQ(key_diff(key, want), "");
}

TEST(FlowExtractor, NeighborAdvertisementWithTargetLinkAddress) {
  const auto f = FrameBuilder()
                     .eth(kDst, kSrc, 0x86dd)
                     .ipv6({.next = 58, .hop_limit = 255})
                     .nd(136, kTarget)
                     .raw({14, 1, 0, 0, 0, 0, 0, 0})  // an unknown option is skipped
                     .nd_lla(2, kSrc)
                     .build();
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  FlowKey want = ipv6_key(58);
  want.set(FieldId::ip_ttl, 255);
  want.set(FieldId::tp_src, 136);
  want.set_wide(FieldId::nd_target, kTarget);
  want.set(FieldId::arp_tha, kSrc);
  EXPECT_EQ(key_diff(key, want), "");
}

TEST(FlowExtractor, NeighborDiscoveryBadOptionsDropNdFields) {
  const auto zero_len = FrameBuilder()
                            .eth(kDst, kSrc, 0x86dd)
                            .ipv6({.next = 58})
                            .nd(135, kTarget)
                            .raw({1, 0, 0, 0, 0, 0, 0, 0})
                            .build();
  const auto twice = FrameBuilder()
                         .eth(kDst, kSrc, 0x86dd)
                         .ipv6({.next = 58})
                         .nd(135, kTarget)
                         .nd_lla(1, kSrc)
                         .nd_lla(1, kDst)
                         .build();
  const auto overlong = FrameBuilder()
                            .eth(kDst, kSrc, 0x86dd)
                            .ipv6({.next = 58})
                            .nd(135, kTarget)
                            .raw({1, 2, 0, 0, 0, 0, 0, 0})  // claims 16 bytes, has 8
                            .build();
  for (const auto* f : {&zero_len, &twice, &overlong}) {
    FlowKey key;
    ASSERT_EQ(extract(*f, key), ParseResult::bad_l4);
    FlowKey want = ipv6_key(58);
    want.set(FieldId::tp_src, 135);
    EXPECT_EQ(key_diff(key, want), "");
  }
}

TEST(FlowExtractor, IcmpOnlyOverItsOwnIpVersion) {
  const auto v6_icmp4 = FrameBuilder().eth(kDst, kSrc, 0x86dd).ipv6({.next = 1}).icmp(8, 0).build();
  const auto v4_icmp6 =
      FrameBuilder().eth(kDst, kSrc, 0x0800).ipv4({.proto = 58}).icmp(135, 0).build();
  FlowKey key;
  ASSERT_EQ(extract(v6_icmp4, key), ParseResult::ok);
  EXPECT_EQ(key_diff(key, ipv6_key(1)), "");
  ASSERT_EQ(extract(v4_icmp6, key), ParseResult::ok);
  EXPECT_EQ(key_diff(key, ipv4_key(58)), "");
}

TEST(FlowExtractor, UnknownEtherTypeStopsAtL2) {
  const auto f = FrameBuilder().eth(kDst, kSrc, 0x88cc).zeros(30).build();  // LLDP
  FlowKey key;
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  EXPECT_EQ(key_diff(key, l2_key(0x88cc)), "");
}

TEST(FlowExtractor, OverwritesThePreviousKey) {
  FlowKey key;
  key.w.fill(~std::uint64_t{0});
  const auto f = FrameBuilder().eth(kDst, kSrc, 0x88cc).build();
  ASSERT_EQ(extract(f, key), ParseResult::ok);
  EXPECT_EQ(key_diff(key, l2_key(0x88cc)), "");
}

}  // namespace
}  // namespace sockswitch::dataplane
