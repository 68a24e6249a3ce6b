// tests/dataplane/meter_table_test.cc: meters' token buckets, alone and in the pipeline.
//
// Plan: drive MeterState with chosen timestamps (no clock): a full bucket
// lets the burst through, then the rate, for packets and for kilobits; a
// multi-band meter drops what any band refuses; a MeterSet keeps the
// other meters' state across a change. Then a flow with meter:1 in the
// pipeline passes the burst and counts the rest as drop.meter.
#include <gtest/gtest.h>

#include "dataplane/meter_table.h"
#include "tests/dataplane/frame_builder.h"
#include "tests/dataplane/switch_harness.h"

namespace sockswitch::dataplane {
namespace {

using flowtable::MeterConfig;
using flowtable::MeterUnit;
constexpr std::uint64_t kSecond = 1'000'000'000;

int passed(MeterState& m, int packets, std::uint32_t bytes, std::uint64_t at) {
  int n = 0;
  for (int i = 0; i < packets; ++i)
    n += m.admit(bytes, at);
  return n;
}

TEST(MeterState, PacketsPassAtTheBurstThenAtTheRate) {
  MeterState m(MeterConfig{1, MeterUnit::pktps, true, false, {{100, 20}}});
  const std::uint64_t t0 = m.created_ns();
  EXPECT_EQ(passed(m, 50, 64, t0), 20);                  // the bucket starts full
  EXPECT_EQ(passed(m, 50, 64, t0 + kSecond / 10), 10);   // 100/s for 0.1 s
  EXPECT_EQ(passed(m, 500, 64, t0 + 10 * kSecond), 20);  // refills only to the burst
  EXPECT_EQ(m.packets_in(), 600u);
  EXPECT_EQ(m.band(0).packets.get(), 550u);
  EXPECT_EQ(m.band(0).bytes.get(), 550u * 64);
}

TEST(MeterState, KilobitsCountEthernetFrameBits) {
  // 1000 kbit/s with no burst given: the bucket holds the rate, 1000 kbit.
  MeterState m(MeterConfig{2, MeterUnit::kbps, false, false, {{1000, 0}}});
  const std::uint64_t t0 = m.created_ns();
  EXPECT_EQ(passed(m, 200, 1000, t0), 125);                // 125 frames of 8 kbit
  EXPECT_EQ(passed(m, 200, 1000, t0 + kSecond / 100), 1);  // 10 ms: 10 kbit, one frame
}

TEST(MeterState, AFrameIsDroppedWhenAnyBandRefusesIt) {
  MeterState m(MeterConfig{3, MeterUnit::pktps, true, true, {{1000, 50}, {10, 5}}});
  EXPECT_EQ(passed(m, 20, 64, m.created_ns()), 5);
  EXPECT_EQ(m.band(0).packets.get(), 0u);
  EXPECT_EQ(m.band(1).packets.get(), 15u);
}

TEST(MeterSet, AChangeKeepsTheOtherMetersState) {
  auto one = std::make_shared<MeterState>(MeterConfig{1, MeterUnit::pktps, false, false, {{5, 0}}});
  auto two = std::make_shared<MeterState>(MeterConfig{2, MeterUnit::pktps, false, false, {{5, 0}}});
  const MeterSet a = MeterSet().with(two).with(one);
  EXPECT_EQ(a.find(1), one.get());
  EXPECT_EQ(a.find(3), nullptr);
  const MeterSet b = a.with(
      std::make_shared<MeterState>(MeterConfig{1, MeterUnit::pktps, false, false, {{9, 0}}}));
  EXPECT_EQ(b.find(2), two.get());
  EXPECT_NE(b.find(1), one.get());
  EXPECT_EQ(b.find(1)->config().bands[0].rate, 9u);
  EXPECT_EQ(b.without(2).find(2), nullptr);
  EXPECT_TRUE(b.without(0).meters().empty());
}

TEST(MeterPipeline, AMeteredFlowPassesTheBurstAndCountsTheRest) {
  SwitchHarness sw({"in", "out"});
  sw.bridge().set_meters(MeterSet().with(
      std::make_shared<MeterState>(MeterConfig{1, MeterUnit::pktps, true, false, {{1, 10}}})));
  sw.install("priority=10,actions=meter:1,output:out\n");
  test::FrameBuilder b;
  b.eth_addrs(0x020000000002, 0x020000000001).type(0x88b5).zeros(46);
  for (int i = 0; i < 30; ++i)
    sw.send("in", b.build());
  sw.run();
  EXPECT_EQ(sw.received("out").size(), 10u);
  EXPECT_EQ(sw.stats().dropped(Drop::meter), 20u);
}

}  // namespace
}  // namespace sockswitch::dataplane
