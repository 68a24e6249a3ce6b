// tests/wire/checksum_completion_test.cc: partial TCP/UDP checksums are found and finished.
//
// Frames as a sender with checksum offload leaves them (the field holds the
// pseudo-header sum) must leave with exactly the checksum a full
// computation gives; frames already complete, fragments, UDP without a
// checksum and frames cut short must not change. The fast one's-complement
// sum is checked against the plain 16-bit loop at every length and
// alignment that matters.
#include "wire/checksum_completion.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/dataplane/offload_frames.h"
#include "wire/checksum.h"

namespace sockswitch::wire {
namespace {

using dataplane::test::offload_frame;
using dataplane::test::plain_fold;
using dataplane::test::plain_sum;

TEST(ChecksumPartial, EqualsThePlainSumAtEveryLengthAndAlignment) {
  std::mt19937 rng(7);
  std::vector<std::uint8_t> bytes(1600 + 8);
  for (auto& b : bytes)
    b = static_cast<std::uint8_t>(rng());
  for (std::size_t offset = 0; offset < 4; ++offset)
    for (std::size_t len = 0; len <= 1600; len += (len < 70 ? 1 : 37))
      EXPECT_EQ(plain_fold(checksum_partial({&bytes[offset], len}, 0x1234)),
                plain_fold(plain_sum(&bytes[offset], len, 0x1234)))
          << "length " << len << " at offset " << offset;
}

TEST(ChecksumPartial, AllOnesWordsDoNotOverflow) {
  std::vector<std::uint8_t> ones(65535, 0xff);
  EXPECT_EQ(plain_fold(checksum_partial(ones)), plain_fold(plain_sum(ones.data(), ones.size())));
}

struct Shape {
  bool ipv6, udp;
  int vlans;
  std::size_t payload;
};

class CompleteIfPartial : public ::testing::TestWithParam<Shape> {};

TEST_P(CompleteIfPartial, FinishesWhatTheSenderLeftAndLeavesCompleteFramesAlone) {
  const Shape s = GetParam();
  auto f = offload_frame(s.ipv6, s.udp, s.payload, s.vlans);
  ASSERT_TRUE(f.l4_valid());
  const std::uint16_t full = f.stored();

  auto unchanged = f.bytes;
  EXPECT_FALSE(complete_if_partial(f.bytes)) << "a complete checksum is not partial";
  EXPECT_EQ(f.bytes, unchanged);

  f.make_partial();
  ASSERT_FALSE(f.l4_valid());
  EXPECT_TRUE(complete_if_partial(f.bytes));
  EXPECT_TRUE(f.l4_valid());
  EXPECT_EQ(f.stored(), full);
}

INSTANTIATE_TEST_SUITE_P(Frames, CompleteIfPartial,
                         ::testing::Values(Shape{false, false, 0, 1448}, Shape{false, true, 0, 1},
                                           Shape{true, false, 0, 1000}, Shape{true, true, 0, 17},
                                           Shape{false, false, 1, 0}, Shape{true, true, 2, 1400},
                                           Shape{false, true, 0, 0}));

TEST(CompleteIfPartial, PaddingAfterTheIpPacketIsNotSummed) {
  auto f = offload_frame(false, false, 2);  // 56 bytes: a wire minimum frame adds padding
  const std::uint16_t full = f.stored();
  f.make_partial();
  f.bytes.resize(60, 0xee);
  EXPECT_TRUE(complete_if_partial(f.bytes));
  EXPECT_EQ(f.stored(), full);
}

TEST(CompleteIfPartial, UdpWithoutChecksumFragmentsAndShortFramesStayAsTheyAre) {
  auto udp = offload_frame(false, true, 100);
  udp.store(0);
  auto before = udp.bytes;
  EXPECT_FALSE(complete_if_partial(udp.bytes));
  EXPECT_EQ(udp.bytes, before);

  auto frag = offload_frame(false, false, 100);
  frag.make_partial();
  frag.bytes[frag.l3 + 6] = 0x20;  // more fragments
  before = frag.bytes;
  EXPECT_FALSE(complete_if_partial(frag.bytes));
  EXPECT_EQ(frag.bytes, before);

  auto cut = offload_frame(true, false, 100);
  cut.make_partial();
  cut.bytes.erase(cut.bytes.end() - 10, cut.bytes.end());  // the IPv6 length runs past the end
  EXPECT_FALSE(complete_if_partial(cut.bytes));

  std::vector<std::uint8_t> tiny(13, 0);
  EXPECT_FALSE(complete_if_partial(tiny));
}

TEST(CompleteChecksumAt, FinishesWhereTheMetadataSaysAndRefusesPositionsOutside) {
  auto f = offload_frame(false, false, 700, 1);
  const std::uint16_t full = f.stored();
  f.make_partial();
  const auto start = static_cast<std::uint32_t>(f.l4);
  EXPECT_TRUE(complete_checksum_at(f.bytes, start, 16));
  EXPECT_EQ(f.stored(), full);

  const auto size = static_cast<std::uint32_t>(f.bytes.size());
  EXPECT_FALSE(complete_checksum_at(f.bytes, size + 1, 0));
  EXPECT_FALSE(complete_checksum_at(f.bytes, start, size - start - 1));
  EXPECT_FALSE(complete_checksum_at(f.bytes, start, 0xffffffffu));
}

TEST(CompleteChecksumAt, AUdpSumOfZeroIsSentAsAllOnes) {
  // Search a payload byte that makes the UDP sum come out as zero.
  for (unsigned v = 0; v < 65536; ++v) {
    auto f = offload_frame(false, true, 2);
    f.bytes[f.l4 + 8] = static_cast<std::uint8_t>(v >> 8);
    f.bytes[f.l4 + 9] = static_cast<std::uint8_t>(v);
    f.store(0);
    if (plain_fold(plain_sum(&f.bytes[f.l4], f.l4_length(), f.pseudo_sum())) != 0xffff) continue;
    f.make_partial();
    EXPECT_TRUE(complete_if_partial(f.bytes));
    EXPECT_EQ(f.stored(), 0xffff);
    return;
  }
  FAIL() << "no payload gives a zero sum";
}

}  // namespace
}  // namespace sockswitch::wire
