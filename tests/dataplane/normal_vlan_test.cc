// tests/dataplane/normal_vlan_test.cc: NORMAL with 802.1Q port settings, as OVS switches them.
//
// Plan: first the rules of port_vlan.h one mode at a time (which VID a port
// takes, which VLAN that is, which tag leaves), then a bridge of ring ports
// with access, trunk and native ports: a frame reaches only the ports of
// its VLAN, each with the tag that port wants, learning is per VLAN, and
// what follows NORMAL in a flow sees the frame as it came.
#include <gtest/gtest.h>

#include "dataplane/port_vlan.h"
#include "tests/dataplane/frame_builder.h"
#include "tests/dataplane/switch_harness.h"
#include "wire/checksum.h"

// g++ 12 flags designated initialisers that leave defaulted members out.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace sockswitch::dataplane {

using wire::load_be16;

namespace {

using test::FrameBuilder;
using Strings = std::vector<std::string>;

VlanConfig access(std::uint16_t tag) {
  return {VlanMode::access, tag, {}};
}
VlanConfig trunk(std::vector<std::uint16_t> vlans = {}) {
  return {VlanMode::trunk, std::nullopt, std::move(vlans)};
}
VlanConfig native(VlanMode m, std::uint16_t tag, std::vector<std::uint16_t> vlans = {}) {
  return {m, tag, std::move(vlans)};
}

TEST(PortVlan, AccessTakesOnlyUntaggedFramesIntoItsVlan) {
  const PortVlan p(access(10));
  EXPECT_EQ(p.input_vlan(0), 10);
  EXPECT_EQ(p.input_vlan(10), -1);  // even its own VLAN: tagged frames are refused
  EXPECT_TRUE(p.carries(10));
  EXPECT_FALSE(p.carries(0));
  EXPECT_FALSE(p.carries(20));
  EXPECT_EQ(p.output_tci(10, 0xa000), 0);  // leaves untagged, priority and all
  EXPECT_FALSE(p.transparent());
}

TEST(PortVlan, TrunkCarriesItsListOrEveryVlan) {
  const PortVlan all;
  EXPECT_TRUE(all.transparent());
  EXPECT_EQ(all.input_vlan(0), 0);
  EXPECT_EQ(all.input_vlan(4095), 4095);
  EXPECT_EQ(all.output_tci(0, 0), 0);
  EXPECT_EQ(all.output_tci(0, 0x6000), 0x6000);  // a priority tag stays one

  const PortVlan some(trunk({10, 20}));
  EXPECT_FALSE(some.transparent());
  EXPECT_EQ(some.input_vlan(10), 10);
  EXPECT_EQ(some.input_vlan(30), -1);
  EXPECT_EQ(some.input_vlan(0), -1);  // untagged is VLAN 0, not in its list
  EXPECT_TRUE(some.carries(20));
  EXPECT_FALSE(some.carries(0));
  EXPECT_EQ(some.output_tci(20, 0x2000), 0x2014);
}

TEST(PortVlan, NativePortsPutUntaggedFramesInTheirTagAndAlwaysTrunkIt) {
  for (VlanMode m : {VlanMode::native_tagged, VlanMode::native_untagged}) {
    const PortVlan p(native(m, 10, {20}));
    EXPECT_EQ(p.input_vlan(0), 10);
    EXPECT_EQ(p.input_vlan(10), 10);  // its own VLAN is trunked even when not listed
    EXPECT_EQ(p.input_vlan(20), 20);
    EXPECT_EQ(p.input_vlan(30), -1);
    EXPECT_FALSE(p.carries(0));
    EXPECT_EQ(p.output_tci(20, 0), 20);
    EXPECT_EQ(p.output_tci(10, 0x2000), m == VlanMode::native_tagged ? 0x200a : 0);
  }
  const PortVlan every(native(VlanMode::native_untagged, 10));  // no list: every VLAN but 0
  EXPECT_EQ(every.input_vlan(4000), 4000);
  EXPECT_FALSE(every.carries(0));
}

TEST(PortVlan, TheModeFollowsTheTagWhenNotGiven) {
  EXPECT_EQ(PortVlan(VlanConfig{std::nullopt, 7, {}}).mode(), VlanMode::access);
  EXPECT_EQ(PortVlan(VlanConfig{std::nullopt, std::nullopt, {5}}).mode(), VlanMode::trunk);
  EXPECT_TRUE(PortVlan(VlanConfig{}).transparent());
}

TEST(PortVlan, SettingsOpenVswitchWouldIgnoreAreNamed) {
  EXPECT_EQ(vlan_config_error(access(10)), "");
  EXPECT_EQ(vlan_config_error(native(VlanMode::native_untagged, 10, {20, 30})), "");
  EXPECT_NE(vlan_config_error({std::nullopt, 10, {20}}).find("needs a 'vlan_mode'"),
            std::string::npos);
  EXPECT_NE(vlan_config_error({VlanMode::access, 10, {20}}).find("'trunks' would be ignored"),
            std::string::npos);
  EXPECT_NE(vlan_config_error({VlanMode::trunk, 10, {}}).find("'tag' would be ignored"),
            std::string::npos);
  EXPECT_NE(vlan_config_error({VlanMode::native_tagged, std::nullopt, {}}).find("needs a 'tag'"),
            std::string::npos);
  EXPECT_NE(vlan_config_error({std::nullopt, 4096, {}}).find("not a VLAN ID"), std::string::npos);
  EXPECT_EQ(describe_vlan_config(native(VlanMode::native_untagged, 10, {20, 30})),
            "tag=10 trunks=20,30 vlan_mode=native-untagged");
  EXPECT_EQ(parse_vlan_mode("native-tagged"), VlanMode::native_tagged);
  EXPECT_EQ(parse_vlan_mode("dot1q-tunnel"), std::nullopt);
}

constexpr std::uint64_t kBcast = 0xffffffffffff;
constexpr std::uint64_t kHostA = 0x02000000000a, kB = 0x02000000000b, kC = 0x02000000000c;
constexpr std::uint64_t kT = 0x0200000000f0;

// A UDP frame, with an 802.1Q tag when tci is not 0.
std::vector<std::uint8_t> vlan_udp_frame(std::uint64_t dst, std::uint64_t src,
                                         std::uint16_t tci = 0) {
  FrameBuilder b;
  b.eth_addrs(dst, src);
  if (tci != 0) b.tag(flowtable::kEthTypeVlan, tci);
  b.type(flowtable::kEthTypeIpv4);
  b.ipv4({.proto = flowtable::kIpProtoUdp, .src = 0x0a000001, .dst = 0x0a000002});
  b.udp(40000, 7);
  return b.build();
}

// The outer TCI of a frame, 0 when untagged.
std::uint16_t tci_of(const std::vector<std::uint8_t>& f) {
  return load_be16(&f[12]) == flowtable::kEthTypeVlan ? load_be16(&f[14]) : 0;
}

// The one frame `port` sent, or a failure.
std::vector<std::uint8_t> one(SwitchHarness& sw, const std::string& port) {
  auto got = sw.received(port);
  EXPECT_EQ(got.size(), 1u) << port;
  return got.empty() ? std::vector<std::uint8_t>{} : got.front();
}

// a, c: access VLAN 10; b: access VLAN 20; t: trunk of every VLAN;
// n: native-untagged VLAN 10, trunking 20 too.
class NormalVlans : public ::testing::Test {
 protected:
  NormalVlans() : sw({"a", "b", "c", "t", "n"}) {
    sw.install("actions=normal\n");
    sw.set_vlan("a", access(10));
    sw.set_vlan("b", access(20));
    sw.set_vlan("c", access(10));
    sw.set_vlan("n", native(VlanMode::native_untagged, 10, {20}));
  }
  SwitchHarness sw;
};

TEST_F(NormalVlans, AnAccessPortsFloodStaysInItsVlanTaggedOnlyOnTrunks) {
  const auto f = vlan_udp_frame(kBcast, kHostA);
  sw.send("a", f);
  sw.run();
  EXPECT_EQ(one(sw, "c"), f);             // same VLAN, untagged
  EXPECT_EQ(tci_of(one(sw, "t")), 10);    // trunk: tagged 10
  EXPECT_EQ(one(sw, "n"), f);             // its native VLAN: untagged
  EXPECT_TRUE(sw.received("b").empty());  // VLAN 20: nothing
  sw.send("b", vlan_udp_frame(kBcast, kB));
  sw.run();
  EXPECT_EQ(tci_of(one(sw, "t")), 20);
  EXPECT_EQ(tci_of(one(sw, "n")), 20);  // trunked, not native: tagged
  EXPECT_EQ(sw.receivers(), Strings{});
}

TEST_F(NormalVlans, ATrunksTaggedFrameLeavesAccessPortsUntagged) {
  const auto plain = vlan_udp_frame(kBcast, kT);
  sw.send("t", vlan_udp_frame(kBcast, kT, 10));
  sw.run();
  EXPECT_EQ(one(sw, "a"), plain);
  EXPECT_EQ(one(sw, "c"), plain);
  EXPECT_EQ(one(sw, "n"), plain);
  EXPECT_EQ(sw.receivers(), Strings{});
  // Priority bits travel with the frame to a port that keeps the tag.
  sw.send("t", vlan_udp_frame(kBcast, kT, 0xa014));  // PCP 5, VLAN 20
  sw.run();
  EXPECT_EQ(tci_of(one(sw, "n")), 0xa014);
  EXPECT_EQ(one(sw, "b"), plain);
}

TEST_F(NormalVlans, FramesAPortDoesNotTakeAreDroppedAndCounted) {
  sw.send("a",
          vlan_udp_frame(kBcast, kHostA, 10));  // tagged on an access port, even with its own VLAN
  sw.send("n", vlan_udp_frame(kBcast, kHostA, 30));  // a VLAN the native port does not trunk
  sw.run();
  EXPECT_EQ(sw.receivers(), Strings{});
  EXPECT_EQ(sw.stats().dropped(Drop::vlan), 2u);
}

TEST_F(NormalVlans, LearningIsPerVlan) {
  sw.send("a", vlan_udp_frame(kBcast, kHostA));  // kHostA is on a in VLAN 10
  sw.run();
  (void)sw.receivers();
  sw.send("t", vlan_udp_frame(kHostA, kT, 10));
  sw.run();
  EXPECT_EQ(one(sw, "a"), vlan_udp_frame(kHostA, kT));
  EXPECT_EQ(sw.receivers(), Strings{});
  // In VLAN 20 kHostA is unknown: the frame floods VLAN 20 only.
  sw.send("t", vlan_udp_frame(kHostA, kT, 20));
  sw.run();
  EXPECT_EQ(sw.receivers(), (Strings{"b", "n"}));
  // The same address learned in VLAN 20 elsewhere leaves VLAN 10's entry.
  sw.send("b", vlan_udp_frame(kBcast, kHostA));
  sw.run();
  (void)sw.receivers();
  sw.send("c", vlan_udp_frame(kHostA, kC));
  sw.run();
  EXPECT_EQ(sw.receivers(), Strings{"a"});
}

TEST_F(NormalVlans, ActionsAfterNormalSeeTheFrameAsItCame) {
  sw.set_vlan("b", access(99));  // b now only watches: no other port is in VLAN 99
  sw.install("priority=20,in_port=a,actions=normal,output:b\npriority=10,actions=normal\n");
  const auto f = vlan_udp_frame(kBcast, kHostA);
  sw.send("a", f);
  sw.run();
  EXPECT_EQ(tci_of(one(sw, "t")), 10);
  EXPECT_EQ(one(sw, "b"), f);  // untagged, as it came, though t's copy was tagged
  EXPECT_EQ(one(sw, "c"), f);
  EXPECT_EQ(one(sw, "n"), f);
}

TEST(NormalVlansOff, ABridgeWithoutVlanSettingsPassesTagsThrough) {
  SwitchHarness sw({"x", "y"});
  sw.install("actions=normal\n");
  const auto f = vlan_udp_frame(kBcast, kHostA, 0x2064);
  sw.send("x", f);
  sw.run();
  EXPECT_EQ(one(sw, "y"), f);
}

}  // namespace
}  // namespace sockswitch::dataplane
