// tests/dataplane/gso_segmenter_test.cc: a GSO frame becomes the frames the wire would carry.
//
// Each segment must be a frame a receiver accepts on its own (IP and L4
// checksums, lengths), and together they must carry exactly the payload in
// order: TCP sequence numbers advance by the payload, FIN and PSH stay on
// the last segment only, IPv4 ids count up. A frame that cannot be cut
// whole (too many segments for the room given, pool too small) is not cut
// at all, and nothing is taken from the pool.
#include "dataplane/gso_segmenter.h"

#include <gtest/gtest.h>

#include <array>

#include "tests/dataplane/offload_frames.h"
#include "wire/checksum.h"

namespace sockswitch::dataplane {

using packet::Packet;
using packet::PacketPool;
using wire::GsoKind;
using wire::load_be16;
using wire::load_be32;

namespace {

using test::offload_frame;
using test::OffloadFrame;

// A segment as an OffloadFrame with the big frame's offsets, to check it.
OffloadFrame as_frame(const Packet& p, const OffloadFrame& big) {
  OffloadFrame f = big;
  f.bytes.assign(p.data(), p.data() + p.length());
  return f;
}

struct Case {
  bool ipv6, udp;
  int vlans;
  std::size_t payload, segment;
};

class SegmentGso : public ::testing::TestWithParam<Case> {};

TEST_P(SegmentGso, EverySegmentStandsAloneAndTogetherTheyCarryThePayload) {
  const Case c = GetParam();
  OffloadFrame big = offload_frame(c.ipv6, c.udp, c.payload, c.vlans, /*fin=*/true);
  big.make_partial();  // as GSO frames come: the sum left to the segmenter
  PacketPool pool(256);
  std::array<Packet*, 64> out{};
  const std::size_t n = segment_gso(
      big.bytes, {c.udp ? GsoKind::udp_l4 : GsoKind::tcp, static_cast<std::uint16_t>(c.segment)},
      pool, out);
  ASSERT_EQ(n, (c.payload + c.segment - 1) / c.segment);
  const std::size_t header = c.udp ? 8 : 20;
  std::vector<std::uint8_t> carried;
  for (std::size_t i = 0; i < n; ++i) {
    const OffloadFrame s = as_frame(*out[i], big);
    EXPECT_TRUE(s.l4_valid()) << "segment " << i;
    EXPECT_TRUE(s.ipv4_header_valid()) << "segment " << i;
    const std::size_t chunk = std::min(c.segment, c.payload - i * c.segment);
    EXPECT_EQ(s.l4_length(), header + chunk);
    if (c.ipv6) {
      EXPECT_EQ(load_be16(&s.bytes[s.l3 + 4]), header + chunk);
    } else {
      EXPECT_EQ(load_be16(&s.bytes[s.l3 + 2]), 20 + header + chunk);
      EXPECT_EQ(load_be16(&s.bytes[s.l3 + 4]), 0x1234 + i);
    }
    if (c.udp) {
      EXPECT_EQ(load_be16(&s.bytes[s.l4 + 4]), header + chunk);
    } else {
      EXPECT_EQ(load_be32(&s.bytes[s.l4 + 4]), 1000 + i * c.segment);
      const std::uint8_t flags = s.bytes[s.l4 + 13];
      const bool last = i + 1 == n;
      EXPECT_EQ((flags & 0x09) != 0, last) << "FIN/PSH on segment " << i;
      EXPECT_TRUE(flags & 0x10) << "ACK on every segment";
    }
    carried.insert(carried.end(), s.bytes.begin() + static_cast<std::ptrdiff_t>(s.l4 + header),
                   s.bytes.end());
  }
  EXPECT_TRUE(std::equal(carried.begin(), carried.end(),
                         big.bytes.begin() + static_cast<std::ptrdiff_t>(big.l4 + header),
                         big.bytes.end()));
  EXPECT_EQ(carried.size(), c.payload);
  pool.free_burst(std::span(out).first(n));
  EXPECT_EQ(pool.available(), pool.size());
}

INSTANTIATE_TEST_SUITE_P(
    Frames, SegmentGso,
    ::testing::Values(Case{false, false, 0, 5000, 1448}, Case{true, false, 0, 64000, 1428},
                      Case{false, true, 0, 3000, 1000}, Case{true, true, 1, 2999, 1000},
                      Case{false, false, 2, 1448, 1448}, Case{false, false, 0, 10, 1448}));

TEST(SegmentGso, NothingIsCutWithoutRoomForEverySegment) {
  OffloadFrame big = offload_frame(false, false, 20000, 0);
  PacketPool pool(256);
  std::array<Packet*, 8> few{};
  EXPECT_EQ(segment_gso(big.bytes, {GsoKind::tcp, 1448}, pool, few), 0u);
  EXPECT_EQ(pool.available(), pool.size());

  PacketPool small(4);
  std::array<Packet*, 64> out{};
  EXPECT_EQ(segment_gso(big.bytes, {GsoKind::tcp, 1448}, small, out), 0u);
  EXPECT_EQ(small.available(), small.size());
}

TEST(SegmentGso, TheWrongKindAZeroSizeOrASegmentLargerThanABufferIsRefused) {
  OffloadFrame tcp = offload_frame(false, false, 3000, 0);
  PacketPool pool(64);
  std::array<Packet*, 64> out{};
  EXPECT_EQ(segment_gso(tcp.bytes, {GsoKind::udp_l4, 1000}, pool, out), 0u);
  EXPECT_EQ(segment_gso(tcp.bytes, {GsoKind::tcp, 0}, pool, out), 0u);
  EXPECT_EQ(segment_gso(tcp.bytes, {GsoKind::tcp, 2900}, pool, out), 0u) << "a 2 KiB buffer";
  EXPECT_EQ(pool.available(), pool.size());
}

}  // namespace
}  // namespace sockswitch::dataplane
