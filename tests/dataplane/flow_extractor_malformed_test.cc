// tests/dataplane/flow_extractor_malformed_test.cc: broken frames.
//
// Plan: take well-formed frames of every kind, cut them at every byte, break
// single header fields, and feed random bytes. Each frame is copied into a
// heap block of exactly its length, so under ASan any read past the end is
// caught. Checks: the documented ParseResult, and that nothing above the
// layer where parsing stopped reaches the key.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "dataplane/flow_extractor.h"
#include "tests/dataplane/frame_builder.h"
#include "tests/dataplane/key_diff.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // see flow_extractor_test.cc

namespace sockswitch::dataplane {
namespace {

using flowtable::FieldId;
using flowtable::FlowKey;
using flowtable::PortNo;
using test::FrameBuilder;

constexpr std::uint64_t kMalformedDst = 0x02000000'00bb;
constexpr std::uint64_t kMalformedSrc = 0x02000000'00aa;

// Parses the first `len` bytes of `f` from a block of exactly that size.
ParseResult extract_exact(const std::vector<std::uint8_t>& f, std::size_t len, FlowKey& key) {
  std::unique_ptr<std::uint8_t[]> copy(new std::uint8_t[len]);
  std::copy_n(f.begin(), len, copy.get());
  return extract_flow(std::span<const std::uint8_t>(copy.get(), len), PortNo{3}, key);
}

bool no_l3_fields(const FlowKey& k) {
  return k.get(FieldId::ip_proto) == 0 && k.get(FieldId::ipv4_src) == 0 &&
         k.get(FieldId::ipv4_dst) == 0 && k.get_wide(FieldId::ipv6_src) == flowtable::Wide{} &&
         k.get(FieldId::arp_sha) == 0;
}
bool no_l4_fields(const FlowKey& k) {
  return k.get(FieldId::tp_src) == 0 && k.get(FieldId::tp_dst) == 0 &&
         k.get(FieldId::tcp_flags) == 0 && k.get_wide(FieldId::nd_target) == flowtable::Wide{};
}

struct Sample {
  const char* name;
  std::vector<std::uint8_t> frame;
  std::size_t l2_len;  // bytes up to and including the final EtherType
};

std::vector<Sample> samples() {
  constexpr flowtable::Wide kT{0xfe80000000000000, 0xbb};
  return {
      {"ipv4/tcp",
       FrameBuilder().eth(kMalformedDst, kMalformedSrc, 0x0800).ipv4({}).tcp(1, 2, 0x10).build(),
       14},
      {"ipv4-options/udp",
       FrameBuilder()
           .eth(kMalformedDst, kMalformedSrc, 0x0800)
           .ipv4({.proto = 17, .ihl = 6, .options = 4})
           .udp(1, 2)
           .build(),
       14},
      {"ipv4/icmp",
       FrameBuilder()
           .eth(kMalformedDst, kMalformedSrc, 0x0800)
           .ipv4({.proto = 1})
           .icmp(8, 0)
           .build(),
       14},
      {"ipv4/sctp",
       FrameBuilder()
           .eth(kMalformedDst, kMalformedSrc, 0x0800)
           .ipv4({.proto = 132})
           .sctp(1, 2)
           .build(),
       14},
      {"arp",
       FrameBuilder()
           .eth(kMalformedDst, kMalformedSrc, 0x0806)
           .arp(1, kMalformedSrc, 1, 0, 2)
           .build(),
       14},
      {"vlan/ipv4/udp",
       FrameBuilder()
           .eth_addrs(kMalformedDst, kMalformedSrc)
           .tag(0x8100, 5)
           .type(0x0800)
           .ipv4({.proto = 17})
           .udp(1, 2)
           .build(),
       18},
      {"qinq/arp",
       FrameBuilder()
           .eth_addrs(kMalformedDst, kMalformedSrc)
           .tag(0x88a8, 5)
           .tag(0x8100, 6)
           .type(0x0806)
           .arp(1, kMalformedSrc, 1, 0, 2)
           .build(),
       22},
      {"ipv6-ext/tcp",
       FrameBuilder()
           .eth(kMalformedDst, kMalformedSrc, 0x86dd)
           .ipv6({.next = 0})
           .ext(60, 1)
           .ext(6)
           .tcp(1, 2, 2)
           .build(),
       14},
      {"ipv6-frag/udp",
       FrameBuilder()
           .eth(kMalformedDst, kMalformedSrc, 0x86dd)
           .ipv6({.next = 44})
           .frag6(17, 0, true)
           .udp(1, 2)
           .build(),
       14},
      {"ipv6-ah/udp",
       FrameBuilder()
           .eth(kMalformedDst, kMalformedSrc, 0x86dd)
           .ipv6({.next = 51})
           .ah(17)
           .udp(1, 2)
           .build(),
       14},
      {"nd-ns",
       FrameBuilder()
           .eth(kMalformedDst, kMalformedSrc, 0x86dd)
           .ipv6({.next = 58})
           .nd(135, kT)
           .nd_lla(1, kMalformedSrc)
           .build(),
       14},
  };
}

TEST(FlowExtractorMalformed, ZeroLength) {
  FlowKey key;
  key.w.fill(~std::uint64_t{0});
  ASSERT_EQ(extract_flow({}, PortNo{3}, key), ParseResult::truncated_l2);
  FlowKey want;
  want.set(FieldId::in_port, 3);
  EXPECT_EQ(test::key_diff(key, want), "");
}

// Every sample cut at every byte: the full frame parses ok, every cut one is
// reported at L2 (inside the Ethernet/VLAN header) or L3 (the IP/ARP length
// no longer fits), and no L3 or L4 field is taken from the cut frame.
TEST(FlowExtractorMalformed, TruncatedAtEveryByte) {
  for (const Sample& s : samples()) {
    FlowKey key;
    ASSERT_EQ(extract_exact(s.frame, s.frame.size(), key), ParseResult::ok) << s.name;
    for (std::size_t len = 0; len < s.frame.size(); ++len) {
      const ParseResult r = extract_exact(s.frame, len, key);
      const ParseResult want =
          len < s.l2_len ? ParseResult::truncated_l2 : ParseResult::truncated_l3;
      EXPECT_EQ(r, want) << s.name << " cut to " << len;
      EXPECT_TRUE(no_l3_fields(key)) << s.name << " cut to " << len;
      EXPECT_TRUE(no_l4_fields(key)) << s.name << " cut to " << len;
      EXPECT_EQ(key.get(FieldId::in_port), 3u);
      if (len >= 14) {
        EXPECT_EQ(key.get(FieldId::eth_src), kMalformedSrc) << s.name << " cut to " << len;
      }
    }
  }
}

// The IP length itself says the transport header is short: truncated_l4,
// with the L3 fields kept and no L4 field.
TEST(FlowExtractorMalformed, IpLengthCutsTransportHeader) {
  struct L4 {
    std::uint8_t proto;
    std::size_t header;
  };
  for (const L4 l4 : {L4{6, 20}, L4{17, 8}, L4{132, 12}, L4{1, 8}}) {
    for (std::size_t cut = 0; cut < l4.header; ++cut) {
      const auto f = FrameBuilder()
                         .eth(kMalformedDst, kMalformedSrc, 0x0800)
                         .ipv4({.proto = l4.proto, .total_length = std::uint16_t(20 + cut)})
                         .zeros(l4.header)
                         .build();
      FlowKey key;
      EXPECT_EQ(extract_exact(f, f.size(), key), ParseResult::truncated_l4)
          << int(l4.proto) << " cut " << cut;
      EXPECT_EQ(key.get(FieldId::ip_proto), l4.proto);
      EXPECT_EQ(key.get(FieldId::ipv4_dst), 0x0a000002u);
      EXPECT_TRUE(no_l4_fields(key));
    }
  }
  // IPv6: payload length ends inside the ICMPv6 ND message (before the target).
  const auto nd = FrameBuilder()
                      .eth(kMalformedDst, kMalformedSrc, 0x86dd)
                      .ipv6({.next = 58, .payload_length = 20})
                      .nd(135, {1, 2})
                      .build();
  FlowKey key;
  EXPECT_EQ(extract_exact(nd, nd.size(), key), ParseResult::truncated_l4);
  EXPECT_EQ(key.get(FieldId::tp_src), 135u);  // type/code were there
  EXPECT_EQ(key.get_wide(FieldId::nd_target), flowtable::Wide{});
}

TEST(FlowExtractorMalformed, BadIhl) {
  FlowKey key;
  for (std::uint8_t ihl = 0; ihl < 5; ++ihl) {
    const auto f = FrameBuilder()
                       .eth(kMalformedDst, kMalformedSrc, 0x0800)
                       .ipv4({.ihl = ihl})
                       .tcp(1, 2, 0)
                       .build();
    EXPECT_EQ(extract_exact(f, f.size(), key), ParseResult::bad_l3) << int(ihl);
    EXPECT_EQ(key.get(FieldId::eth_type), 0x0800u);
    EXPECT_TRUE(no_l3_fields(key));
    EXPECT_TRUE(no_l4_fields(key));
  }
  // IHL 15 (60 bytes) in a 40-byte packet: the header runs off the frame.
  const auto beyond = FrameBuilder()
                          .eth(kMalformedDst, kMalformedSrc, 0x0800)
                          .ipv4({.ihl = 15})
                          .tcp(1, 2, 0)
                          .build();
  EXPECT_EQ(extract_exact(beyond, beyond.size(), key), ParseResult::truncated_l3);
  EXPECT_TRUE(no_l3_fields(key));
  // IHL 15 within a padded frame but beyond the total length: inconsistent.
  auto padded = FrameBuilder()
                    .eth(kMalformedDst, kMalformedSrc, 0x0800)
                    .ipv4({.ihl = 15})
                    .tcp(1, 2, 0)
                    .build();
  padded.resize(padded.size() + 40, 0);
  EXPECT_EQ(extract_exact(padded, padded.size(), key), ParseResult::bad_l3);
  EXPECT_TRUE(no_l3_fields(key));
}

TEST(FlowExtractorMalformed, BadIpv4TotalLength) {
  FlowKey key;
  for (std::uint16_t total : {0, 1, 19}) {  // shorter than the header
    const auto f = FrameBuilder()
                       .eth(kMalformedDst, kMalformedSrc, 0x0800)
                       .ipv4({.total_length = total})
                       .tcp(1, 2, 0)
                       .build();
    EXPECT_EQ(extract_exact(f, f.size(), key), ParseResult::bad_l3) << total;
    EXPECT_TRUE(no_l3_fields(key));
  }
  for (std::uint16_t total : {41, 1500, 65535}) {  // longer than the frame
    const auto f = FrameBuilder()
                       .eth(kMalformedDst, kMalformedSrc, 0x0800)
                       .ipv4({.total_length = total})
                       .tcp(1, 2, 0)
                       .build();
    EXPECT_EQ(extract_exact(f, f.size(), key), ParseResult::truncated_l3) << total;
    EXPECT_TRUE(no_l3_fields(key));
  }
  // Exactly the header: a valid IPv4 packet with an empty TCP segment.
  const auto bare = FrameBuilder()
                        .eth(kMalformedDst, kMalformedSrc, 0x0800)
                        .ipv4({.total_length = 20})
                        .tcp(1, 2, 0)
                        .build();
  EXPECT_EQ(extract_exact(bare, bare.size(), key), ParseResult::truncated_l4);
}

TEST(FlowExtractorMalformed, WrongIpVersion) {
  auto v4 = FrameBuilder().eth(kMalformedDst, kMalformedSrc, 0x0800).ipv4({}).tcp(1, 2, 0).build();
  v4[14] = 0x65;  // version 6, IHL 5
  auto v6 = FrameBuilder().eth(kMalformedDst, kMalformedSrc, 0x86dd).ipv6({}).tcp(1, 2, 0).build();
  v6[14] = 0x40;
  FlowKey key;
  EXPECT_EQ(extract_exact(v4, v4.size(), key), ParseResult::bad_l3);
  EXPECT_TRUE(no_l3_fields(key));
  EXPECT_EQ(extract_exact(v6, v6.size(), key), ParseResult::bad_l3);
  EXPECT_TRUE(no_l3_fields(key));
}

TEST(FlowExtractorMalformed, TcpDataOffset) {
  FlowKey key;
  for (std::uint8_t doff = 0; doff < 5; ++doff) {
    const auto f = FrameBuilder()
                       .eth(kMalformedDst, kMalformedSrc, 0x0800)
                       .ipv4({})
                       .tcp(1, 2, 0x10, doff)
                       .build();
    EXPECT_EQ(extract_exact(f, f.size(), key), ParseResult::bad_l4) << int(doff);
    EXPECT_EQ(key.get(FieldId::ip_proto), 6u);
    EXPECT_TRUE(no_l4_fields(key));
  }
  // Data offset 15 (60 bytes) with 20 bytes of segment.
  auto f =
      FrameBuilder().eth(kMalformedDst, kMalformedSrc, 0x0800).ipv4({}).tcp(1, 2, 0x10).build();
  f[14 + 20 + 12] = 0xf0;
  EXPECT_EQ(extract_exact(f, f.size(), key), ParseResult::truncated_l4);
  EXPECT_TRUE(no_l4_fields(key));
}

TEST(FlowExtractorMalformed, VlanStacks) {
  FlowKey key;
  for (int tags = 3; tags <= 6; ++tags) {
    FrameBuilder b;
    b.eth_addrs(kMalformedDst, kMalformedSrc);
    for (int i = 0; i < tags; ++i)
      b.tag(i % 2 ? 0x8100 : 0x88a8, std::uint16_t(i + 1));
    const auto f = b.type(0x0800).ipv4({}).tcp(1, 2, 0).build();
    EXPECT_EQ(extract_exact(f, f.size(), key), ParseResult::vlan_depth) << tags;
    EXPECT_EQ(key.get(FieldId::vlan_tci), 0x1001u);
    EXPECT_EQ(key.get(FieldId::eth_type), 0x88a8u);  // the third TPID
    EXPECT_TRUE(no_l3_fields(key));
  }
  // A tag cut short: eth_type is the TPID, as far as the frame goes.
  const auto cut = FrameBuilder().eth_addrs(kMalformedDst, kMalformedSrc).tag(0x8100, 7).build();
  EXPECT_EQ(extract_exact(cut, cut.size(), key), ParseResult::truncated_l2);
  EXPECT_EQ(key.get(FieldId::eth_type), 0x8100u);
  EXPECT_EQ(key.get(FieldId::vlan_tci), 0u);
}

TEST(FlowExtractorMalformed, Ipv6ExtensionChain) {
  FlowKey key;
  // Eight extension headers are allowed, nine are not.
  for (int count : {8, 9}) {
    FrameBuilder b;
    b.eth(kMalformedDst, kMalformedSrc, 0x86dd).ipv6({.next = 60});
    for (int i = 0; i < count; ++i)
      b.ext(i + 1 < count ? 60 : 17);
    const auto f = b.udp(1, 2).build();
    const ParseResult r = extract_exact(f, f.size(), key);
    if (count == 8) {
      EXPECT_EQ(r, ParseResult::ok);
      EXPECT_EQ(key.get(FieldId::tp_dst), 2u);
    } else {
      EXPECT_EQ(r, ParseResult::bad_l3);
      EXPECT_EQ(key.get(FieldId::ip_proto), 0u);
      EXPECT_EQ(key.get_wide(FieldId::ipv6_dst).lo, 2u);  // addresses were sound
      EXPECT_TRUE(no_l4_fields(key));
    }
  }
  // An extension header longer than the payload.
  const auto f =
      FrameBuilder().eth(kMalformedDst, kMalformedSrc, 0x86dd).ipv6({.next = 0}).ext(6, 4).build();
  auto shrunk = f;
  shrunk[14 + 4] = 0;
  shrunk[14 + 5] = 16;  // payload length 16, header claims 40
  EXPECT_EQ(extract_exact(shrunk, shrunk.size(), key), ParseResult::truncated_l3);
  EXPECT_EQ(key.get(FieldId::ip_proto), 0u);
  // Payload length beyond the frame.
  auto longer = f;
  longer[14 + 4] = 0x05;
  EXPECT_EQ(extract_exact(longer, longer.size(), key), ParseResult::truncated_l3);
  EXPECT_TRUE(no_l3_fields(key));
}

// Random bytes behind a plausible EtherType: only checks that nothing reads
// out of bounds (ASan) and that the result is a known value.
TEST(FlowExtractorMalformed, RandomFrames) {
  std::mt19937 rng(12345);
  const std::uint16_t types[] = {0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8, 0x0020, 0x1234};
  FlowKey key;
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::uint8_t> f(rng() % 160);
    for (auto& b : f)
      b = static_cast<std::uint8_t>(rng());
    if (f.size() >= 14) {
      const std::uint16_t t = types[rng() % std::size(types)];
      f[12] = t >> 8;
      f[13] = t & 0xff;
      if (f.size() >= 15 && t == 0x0800) f[14] = 0x40 | (f[14] & 0x0f);
      if (f.size() >= 15 && t == 0x86dd) f[14] = 0x60 | (f[14] & 0x0f);
    }
    const ParseResult r = extract_exact(f, f.size(), key);
    ASSERT_LT(static_cast<int>(r), static_cast<int>(ParseResult::kCount));
  }
}

}  // namespace
}  // namespace sockswitch::dataplane
