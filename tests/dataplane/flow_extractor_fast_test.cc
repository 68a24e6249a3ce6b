// tests/dataplane/flow_extractor_fast_test.cc: the IPv4 TCP/UDP fast path against the walk.
//
// Plan: build frames the fast path takes (untagged IPv4, IHL 5, TCP/UDP) and
// frames one field away from it (options, fragments, other protocols, VLAN,
// short IP lengths, bad TCP data offsets, truncation at every byte), then
// mutate random bytes of them. For each, extract_flow (fast path first) and
// extract_flow_by_walk (the general walk alone) must give the same result and
// the same key, starting from different garbage in the key. Frames sit in
// heap blocks of exactly their length, so under ASan an over-read is caught.
// Then extract_burst's hash and extent: the hash is hash_key(key) and no
// word at or past the extent is set.
#include <gtest/gtest.h>

#include <memory>
#include <random>
#include <vector>

#include "dataplane/flow_extractor.h"
#include "dataplane/flow_hash.h"
#include "packet/burst.h"
#include "packet/packet_pool.h"
#include "tests/dataplane/frame_builder.h"
#include "tests/dataplane/key_diff.h"

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"  // see flow_extractor_test.cc

namespace sockswitch::dataplane {

using packet::Burst;
using packet::kBurstSize;
using packet::Packet;
using packet::PacketPool;

namespace {

using flowtable::FieldId;
using flowtable::FlowKey;
using flowtable::PortNo;
using test::FrameBuilder;

constexpr std::uint64_t kFastDst = 0x02000000'00bb;
constexpr std::uint64_t kFastSrc = 0x02000000'00aa;

std::vector<std::vector<std::uint8_t>> seeds() {
  std::vector<std::vector<std::uint8_t>> out = {
      FrameBuilder()
          .eth(kFastDst, kFastSrc, 0x0800)
          .ipv4({.tos = 0xb9, .ttl = 3})
          .tcp(40000, 443, 0xfff)
          .build(),
      FrameBuilder().eth(kFastDst, kFastSrc, 0x0800).ipv4({.proto = 17}).udp(5353, 53).build(),
      FrameBuilder()
          .eth(kFastDst, kFastSrc, 0x0800)
          .ipv4({.ihl = 6, .options = 4})
          .tcp(1, 2, 0x10)
          .build(),
      FrameBuilder()
          .eth(kFastDst, kFastSrc, 0x0800)
          .ipv4({.proto = 1})
          .raw({8, 0, 0, 0, 0, 0, 0, 0})
          .build(),
      FrameBuilder()
          .eth(kFastDst, kFastSrc, 0x0800)
          .ipv4({.proto = 132})
          .udp(7, 9)
          .zeros(4)
          .build(),
      FrameBuilder().eth(kFastDst, kFastSrc, 0x0800).ipv4({.proto = 47}).zeros(8).build(),
      FrameBuilder().eth(kFastDst, kFastSrc, 0x0800).ipv4({}).tcp(1, 2, 0x10, 8).build(),
      FrameBuilder()
          .eth_addrs(kFastDst, kFastSrc)
          .tag(0x8100, 5)
          .type(0x0800)
          .ipv4({})
          .tcp(1, 2, 2)
          .build(),
      FrameBuilder().eth(kFastDst, kFastSrc, 0x86dd).ipv6({}).tcp(1, 2, 2).build(),
  };
  // Padding after the IP length, as on a 60-byte minimum frame.
  auto padded =
      FrameBuilder().eth(kFastDst, kFastSrc, 0x0800).ipv4({.proto = 17}).udp(1, 2).build();
  padded.resize(60, 0xee);
  out.push_back(padded);
  return out;
}

// Runs both extractors on `f` (in an exact-size block) and compares.
void expect_same(const std::vector<std::uint8_t>& f, std::uint64_t garbage) {
  std::unique_ptr<std::uint8_t[]> copy(new std::uint8_t[f.size() + 1]);  // +1: never size 0
  std::copy(f.begin(), f.end(), copy.get());
  const std::span<const std::uint8_t> frame(copy.get(), f.size());
  FlowKey fast, walk;
  for (auto& w : fast.w)
    w = garbage;
  for (auto& w : walk.w)
    w = ~garbage;
  const ParseResult rf = extract_flow(frame, PortNo{7}, fast);
  const ParseResult rw = extract_flow_by_walk(frame, PortNo{7}, walk);
  ASSERT_EQ(rf, rw);
  ASSERT_EQ(test::key_diff(fast, walk), "");
}

TEST(FlowExtractorFastPath, SameAsTheWalkOnSeedsAndEveryTruncation) {
  for (const auto& f : seeds()) {
    for (std::size_t len = 0; len <= f.size(); ++len) {
      SCOPED_TRACE(len);
      expect_same(std::vector<std::uint8_t>(f.begin(), f.begin() + std::ptrdiff_t(len)), len);
    }
  }
}

TEST(FlowExtractorFastPath, SameAsTheWalkOnMutatedFrames) {
  std::mt19937_64 rng(2024);
  const auto base = seeds();
  for (int i = 0; i < 50000; ++i) {
    auto f = base[rng() % base.size()];
    // Mostly the header bytes the fast path checks: type, version/IHL,
    // lengths, fragment bits, protocol, TCP data offset.
    const int edits = 1 + int(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = rng() % 2 ? rng() % f.size() : 12 + rng() % 36 % f.size();
      f[at % f.size()] = static_cast<std::uint8_t>(rng());
    }
    if (rng() % 4 == 0) f.resize(rng() % (f.size() + 1));
    expect_same(f, rng());
  }
}

TEST(FlowExtractorFastPath, BurstHashAndExtentDescribeTheKey) {
  PacketPool pool(64);
  std::vector<Packet*> packets;
  for (const auto& f : seeds()) {
    Packet* p = pool.alloc();
    std::copy(f.begin(), f.end(), p->append(static_cast<std::uint32_t>(f.size())));
    p->set_in_port(PortNo{2});
    packets.push_back(p);
  }
  std::vector<FlowKey> keys(packets.size());
  std::vector<KeyInfo> infos(packets.size());
  ASSERT_EQ(extract_burst(packets, keys, infos), packets.size());
  for (std::size_t i = 0; i < packets.size(); ++i) {
    SCOPED_TRACE(i);
    FlowKey one;
    EXPECT_EQ(infos[i].result, extract_flow(*packets[i], one));
    EXPECT_EQ(test::key_diff(keys[i], one), "");
    EXPECT_EQ(infos[i].hash, hash_key(keys[i]));
    for (std::size_t w = infos[i].extent; w < flowtable::kKeyWords; ++w)
      EXPECT_EQ(keys[i].w[w], 0u) << "word " << w;
  }
  // IPv4 keys are narrow, IPv6 ones are not.
  EXPECT_EQ(infos[0].extent, kHotKeyWords);
  EXPECT_EQ(infos[8].extent, flowtable::kKeyWords);
  pool.free_burst(packets);
}

TEST(ExtractBurst, MatchesSinglePacketExtraction) {
  PacketPool pool(kBurstSize);
  Burst burst;
  burst.set_size(pool.alloc_burst(burst.storage()));
  ASSERT_EQ(burst.size(), kBurstSize);
  for (std::size_t i = 0; i < burst.size(); ++i) {
    test::FrameBuilder b;
    b.eth(0x020000000001, 0x020000000002 + i, 0x0800);
    b.ipv4({.proto = 17, .src = std::uint32_t(0x0a000000 + i)}).udp(std::uint16_t(1000 + i), 53);
    auto f = b.build();
    if (i == 7) f.resize(10);  // one runt in the middle
    Packet* p = burst[i];
    std::memcpy(p->append(static_cast<std::uint32_t>(f.size())), f.data(), f.size());
    p->set_in_port(PortNo{static_cast<std::uint32_t>(i % 3 + 1)});
  }
  std::array<FlowKey, kBurstSize> keys;
  std::array<ParseResult, kBurstSize> results;
  ASSERT_EQ(extract_burst(burst.packets(), keys, results), kBurstSize);
  for (std::size_t i = 0; i < burst.size(); ++i) {
    FlowKey one;
    EXPECT_EQ(results[i], extract_flow(*burst[i], one)) << i;
    EXPECT_EQ(keys[i], one) << i;
  }
  EXPECT_EQ(results[7], ParseResult::truncated_l2);
  EXPECT_EQ(keys[3].get(FieldId::tp_src), 1003u);
  EXPECT_EQ(keys[4].get(FieldId::in_port), 2u);

  // Fewer keys than packets: only that many are done; results are optional.
  EXPECT_EQ(extract_burst(burst.packets(), std::span(keys).first(5)), 5u);
  pool.free_burst(burst.packets());
}

}  // namespace
}  // namespace sockswitch::dataplane
