// tests/dataplane/pipeline_test.cc: the whole packet path in-process.
//
// Plan: a bridge of ring ports with a seed flow table; frames of each
// documented traffic flow go in at the documented port; check where each
// arrives and where it must not, then NORMAL learning/flooding/aging, VLAN
// and rewrite actions with valid checksums, and that a flow change is
// honoured by the very next burst.
#include <gtest/gtest.h>

#include "tests/dataplane/frame_builder.h"
#include "tests/dataplane/switch_harness.h"
#include "wire/checksum.h"

// g++ 12 flags designated initialisers that leave defaulted members out.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace sockswitch::dataplane {

using wire::checksum_finish;
using wire::checksum_partial;
using wire::load_be16;
using wire::load_be32;
using wire::store_be16;

namespace {

using test::FrameBuilder;
using Strings = std::vector<std::string>;

constexpr std::uint64_t kMacUser = 0x020000000001, kMacXray = 0x020000000102;
constexpr std::uint64_t kMacWarp = 0x0200000000fe, kMacBcast = 0xffffffffffff;

std::vector<std::uint8_t> tcp_frame(std::uint64_t dst, std::uint64_t src, std::uint32_t ip_src,
                                    std::uint32_t ip_dst, std::uint16_t sport,
                                    std::uint16_t dport) {
  FrameBuilder b;
  b.eth(dst, src, flowtable::kEthTypeIpv4);
  b.ipv4({.proto = flowtable::kIpProtoTcp, .src = ip_src, .dst = ip_dst});
  b.tcp(sport, dport, 0x002);
  return b.build();
}

std::vector<std::uint8_t> udp_frame(std::uint64_t dst, std::uint64_t src, std::uint16_t dport) {
  FrameBuilder b;
  b.eth(dst, src, flowtable::kEthTypeIpv4);
  b.ipv4({.proto = flowtable::kIpProtoUdp, .src = 0x0a020001, .dst = 0x0a020002});
  b.udp(40000, dport);
  return b.build();
}

// IPv4 header and TCP/UDP checksums computed from scratch.
void fill_checksums(std::vector<std::uint8_t>& f, std::size_t l3 = 14) {
  f[l3 + 10] = f[l3 + 11] = 0;
  const std::size_t ihl = (f[l3] & 0x0f) * 4u;
  store_be16(&f[l3 + 10], checksum_finish(checksum_partial({&f[l3], ihl})));
  const std::uint8_t proto = f[l3 + 9];
  const std::size_t l4 = l3 + ihl;
  const std::size_t at = proto == 6 ? l4 + 16 : l4 + 6;
  f[at] = f[at + 1] = 0;
  std::uint32_t sum = checksum_partial({&f[l3 + 12], 8});
  sum += proto + static_cast<std::uint32_t>(f.size() - l4);
  store_be16(&f[at], checksum_finish(checksum_partial({&f[l4], f.size() - l4}, sum)));
}

bool pipeline_checksums_valid(const std::vector<std::uint8_t>& f, std::size_t l3 = 14) {
  const std::size_t ihl = (f[l3] & 0x0f) * 4u;
  if (checksum_finish(checksum_partial({&f[l3], ihl})) != 0) return false;
  const std::size_t l4 = l3 + ihl;
  std::uint32_t sum = checksum_partial({&f[l3 + 12], 8});
  sum += f[l3 + 9] + static_cast<std::uint32_t>(f.size() - l4);
  return checksum_finish(checksum_partial({&f[l4], f.size() - l4}, sum)) == 0;
}

const char* kVpsFlows = R"(
priority=100,tcp,tp_dst=443,actions=output:veth102
priority=100,tcp,tp_dst=8443,actions=output:veth102
priority=100,in_port=veth102,actions=output:warp0
priority=100,in_port=warp0,actions=output:veth102
priority=80,in_port=nm-server,actions=normal
priority=10,actions=normal
)";

TEST(Pipeline, VpsSeedPaths) {
  SwitchHarness sw({"nm-server", "warp0", "veth102"});
  sw.install(kVpsFlows);

  // User HTTPS and VMess to Xray.
  sw.send("nm-server", tcp_frame(kMacXray, kMacUser, 0x0a010001, 0x0a020066, 40000, 443));
  sw.send("nm-server", tcp_frame(kMacXray, kMacUser, 0x0a010001, 0x0a020066, 40001, 8443));
  sw.run();
  EXPECT_EQ(sw.received("veth102").size(), 2u);
  EXPECT_EQ(sw.receivers(), Strings{});

  // Xray to WARP, WARP back to Xray.
  sw.send("veth102", tcp_frame(kMacWarp, kMacXray, 0x0a020066, 0x01010101, 40002, 80));
  sw.send("warp0", tcp_frame(kMacXray, kMacWarp, 0x01010101, 0x0a020066, 80, 40002));
  sw.run();
  EXPECT_EQ(sw.received("warp0").size(), 1u);
  EXPECT_EQ(sw.received("veth102").size(), 1u);
  EXPECT_EQ(sw.receivers(), Strings{});

  // The documented table's latent bug: Xray's own outbound HTTPS matches the
  // ingress flow (added first), which sends it back out of veth102: OpenFlow
  // drops output to the ingress port, so it never reaches warp0.
  const auto reflect_before = sw.stats().dropped(Drop::reflect);
  sw.send("veth102", tcp_frame(kMacWarp, kMacXray, 0x0a020066, 0x01010101, 40003, 443));
  sw.run();
  EXPECT_EQ(sw.receivers(), Strings{});
  EXPECT_EQ(sw.stats().dropped(Drop::reflect), reflect_before + 1);

  // Netmaker traffic is switched normally: unknown destination floods.
  sw.send("nm-server", udp_frame(kMacBcast, kMacUser, 51821));
  sw.run();
  EXPECT_EQ(sw.receivers(), (Strings{"veth102", "warp0"}));
}

TEST(Pipeline, Oo1424ooSeedPaths) {
  SwitchHarness sw({"nm-privacy", "veth200", "veth201", "veth202", "veth203"});
  sw.install(R"(
priority=100,in_port=nm-privacy,actions=normal
priority=90,tcp,tp_dst=9573,actions=output:veth200
priority=90,tcp,tp_dst=9574,actions=output:veth201
priority=90,tcp,tp_dst=6333,actions=output:veth202
priority=90,tcp,tp_dst=6379,actions=output:veth203
priority=80,in_port=veth200,actions=normal
priority=80,in_port=veth201,actions=normal
priority=80,in_port=veth202,actions=normal
priority=10,actions=normal
)");
  // MCP -> Vector DB.
  sw.send("veth200", tcp_frame(0x02000000c202, 0x02000000c200, 0x0a0000c8, 0x0a0000ca, 1, 6333));
  sw.run();
  EXPECT_EQ(sw.received("veth202").size(), 1u);
  EXPECT_EQ(sw.receivers(), Strings{});
  // Admin via Netmaker -> API: NORMAL from nm-privacy; learn veth201 first.
  sw.send("veth201", udp_frame(kMacBcast, 0x02000000c201, 9));
  sw.run();
  sw.receivers();
  sw.send("nm-privacy", tcp_frame(0x02000000c201, kMacUser, 0x0a640001, 0x0a0000c9, 2, 9574));
  sw.run();
  EXPECT_EQ(sw.received("veth201").size(), 1u);
  EXPECT_EQ(sw.receivers(), Strings{});
}

TEST(Pipeline, NormalLearnsFloodsAndAges) {
  SwitchHarness sw({"a", "b", "c"});
  sw.install("actions=normal\n");
  constexpr std::uint64_t A = 0x02000000000a, B = 0x02000000000b;
  sw.send("a", udp_frame(kMacBcast, A, 1));  // broadcast: flood
  sw.run();
  EXPECT_EQ(sw.receivers(), (Strings{"b", "c"}));
  sw.send("b", udp_frame(A, B, 1));  // A was learned on a
  sw.run();
  EXPECT_EQ(sw.receivers(), Strings{"a"});
  sw.send("a", udp_frame(B, A, 1));  // B was learned on b
  sw.run();
  EXPECT_EQ(sw.receivers(), Strings{"b"});
  sw.send("a", udp_frame(0x020000000099, A, 1));  // unknown unicast floods
  sw.run();
  EXPECT_EQ(sw.receivers(), (Strings{"b", "c"}));
  sw.advance(std::chrono::seconds(301));  // past the 300 s default aging
  sw.send("c", udp_frame(B, 0x02000000000c, 1));
  sw.run();
  EXPECT_EQ(sw.receivers(), (Strings{"a", "b"}));
}

TEST(Pipeline, RewritesKeepChecksumsValid) {
  SwitchHarness sw({"in", "out"});
  sw.install(
      "priority=10,tcp,in_port=in,actions=mod_nw_src:192.0.2.9,mod_tp_dst:8080,"
      "mod_dl_dst:02:00:00:00:00:77,mod_nw_tos:40,dec_ttl,output:out\n");
  auto f = tcp_frame(0x020000000002, 0x020000000001, 0x0a000001, 0x0a000002, 1234, 443);
  fill_checksums(f);
  ASSERT_TRUE(pipeline_checksums_valid(f));
  sw.send("in", f);
  sw.run();
  const auto out = sw.received("out");
  ASSERT_EQ(out.size(), 1u);
  const auto& g = out[0];
  EXPECT_TRUE(pipeline_checksums_valid(g));
  EXPECT_EQ(load_be32(&g[14 + 12]), 0xc0000209u);
  EXPECT_EQ(load_be16(&g[34 + 2]), 8080);
  EXPECT_EQ(g[5], 0x77);
  EXPECT_EQ(g[14 + 1], 40);
  EXPECT_EQ(g[14 + 8], 63);
}

// load: and move: into registers steer a later table; into headers they
// rewrite only the bits named and keep the checksums valid.
TEST(Pipeline, LoadAndMoveSetBitsOfRegistersAndHeaders) {
  SwitchHarness sw({"in", "out", "other"});
  sw.install(
      "priority=10,tcp,in_port=in,actions=move:NXM_OF_TCP_SRC[]->NXM_NX_REG1[0..15],"
      "load:0x2->NXM_NX_REG0[4..5],resubmit(,1)\n"
      "table=1,priority=10,tcp,reg0=0x20/0x30,reg1=1234,actions=move:NXM_OF_ETH_SRC[]->"
      "NXM_OF_ETH_DST[],load:0x7->NXM_OF_IP_SRC[0..7],move:NXM_NX_REG1[8..15]->NXM_OF_TCP_DST[0..7]"
      ","
      "output:out\n"
      "table=1,priority=5,actions=output:other\n");
  auto f = tcp_frame(kMacXray, kMacUser, 0x0a000001, 0x0a000002, 1234, 443);  // 1234 = 0x04d2
  fill_checksums(f);
  sw.send("in", f);
  sw.run();
  const auto out = sw.received("out");
  ASSERT_EQ(out.size(), 1u) << "the registers steered table 1";
  const auto& g = out[0];
  EXPECT_TRUE(pipeline_checksums_valid(g));
  EXPECT_EQ(std::uint64_t{load_be16(&g[0])} << 32 | load_be32(&g[2]), kMacUser)
      << "eth_dst = eth_src";
  EXPECT_EQ(load_be32(&g[14 + 12]), 0x0a000007u) << "only the low byte of the source changed";
  EXPECT_EQ(load_be16(&g[34 + 2]), 0x0104) << "tcp_dst's low byte = reg1's bits 8..15 (0x04)";
  EXPECT_TRUE(sw.received("other").empty());
}

TEST(Pipeline, ModNwTtlSetsTheTtlAndKeepsTheChecksum) {
  SwitchHarness sw({"in", "out"});
  sw.install("priority=300,ip,actions=mod_nw_ttl:7,output:out\n");  // op-dbus writes 64
  auto f = tcp_frame(0x020000000002, 0x020000000001, 0x0a000001, 0x0a000002, 1234, 443);
  fill_checksums(f);
  sw.send("in", f);
  sw.run();
  const auto out = sw.received("out");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][14 + 8], 7);
  EXPECT_TRUE(pipeline_checksums_valid(out[0]));
}

TEST(Pipeline, VlanActions) {
  SwitchHarness sw({"in", "tagged", "plain"});
  sw.install(
      "priority=10,in_port=in,actions=mod_vlan_vid:10,output:tagged,strip_vlan,output:plain\n");
  const auto f = udp_frame(0x020000000002, 0x020000000001, 7);
  sw.send("in", f);
  sw.run();
  const auto tagged = sw.received("tagged");
  const auto plain = sw.received("plain");
  ASSERT_EQ(tagged.size(), 1u);
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(tagged[0].size(), f.size() + 4);
  EXPECT_EQ(load_be16(&tagged[0][12]), 0x8100);
  EXPECT_EQ(load_be16(&tagged[0][14]) & 0x0fff, 10);
  EXPECT_EQ(load_be16(&tagged[0][16]), 0x0800);
  EXPECT_EQ(plain[0], f);
}

TEST(Pipeline, FlowChangeIsHonouredByTheNextBurst) {
  SwitchHarness sw({"in", "x", "y"});
  sw.install("priority=10,udp,actions=output:x\n");
  const auto f = udp_frame(0x020000000002, 0x020000000001, 53);
  for (int i = 0; i < 3; ++i)
    sw.send("in", f);  // warm the caches
  sw.run();
  EXPECT_EQ(sw.received("x").size(), 3u);
  EXPECT_GT(sw.stats().emc_hits.get(), 0u);

  flowtable::FlowMod modify{flowtable::FlowModCommand::modify_strict, {}};
  modify.rule = flowtable::parse_flow("priority=10,udp,actions=output:y", sw.port_map(),
                                      flowtable::FlowSyntax::add);
  sw.apply({modify});  // returns after the grace period: "installed"
  sw.send("in", f);
  sw.run();
  EXPECT_EQ(sw.received("x").size(), 0u);
  EXPECT_EQ(sw.received("y").size(), 1u);

  flowtable::FlowMod del{flowtable::FlowModCommand::del, {}};
  del.rule.table = flowtable::kAllTables;
  sw.apply({del});
  sw.send("in", f);
  sw.run();
  EXPECT_EQ(sw.receivers(), Strings{});
  EXPECT_GE(sw.stats().dropped(Drop::no_match), 1u);
}

TEST(Pipeline, PerFlowCountersCountEveryPacket) {
  SwitchHarness sw({"in", "out"});
  sw.install("priority=10,udp,actions=output:out\n");
  const auto f = udp_frame(0x020000000002, 0x020000000001, 53);
  for (int i = 0; i < 5; ++i)
    sw.send("in", f);
  sw.run();
  flowtable::FlowMask m;
  flowtable::FlowKey k;
  k.set(flowtable::FieldId::eth_type, 0x0800);
  k.set(flowtable::FieldId::ip_proto, 17);
  const auto* rule = sw.bridge().published()->flows->lookup(0, k, m);
  ASSERT_NE(rule, nullptr);
  const auto stats = sw.bridge().flows().stats(rule->id);
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->packets, 5u);
  EXPECT_EQ(stats->bytes, 5u * f.size());
}

// Per-flow counts are gathered over runs of one flow within a burst; flows
// that alternate, and the lone-output fast path's drop (an output port the
// bridge does not have), must still be counted exactly.
TEST(Pipeline, CountersStayExactWhenFlowsInterleaveInABurst) {
  SwitchHarness sw({"in", "a", "b"});
  sw.install(
      "priority=10,udp,tp_dst=53,actions=output:a\n"
      "priority=10,udp,tp_dst=54,actions=output:b\n"
      "priority=5,udp,actions=output:9\n");
  const std::uint16_t ports[] = {53, 53, 54, 53, 55, 54, 54, 55, 53};
  for (std::uint16_t p : ports)
    sw.send("in", udp_frame(0x020000000002, 0x020000000001, p));
  sw.run();
  EXPECT_EQ(sw.received("a").size(), 4u);
  EXPECT_EQ(sw.received("b").size(), 3u);
  EXPECT_EQ(sw.stats().dropped(Drop::port_unknown), 2u);
  EXPECT_EQ(sw.pool().available(), sw.pool().size());

  const std::size_t frame_size = udp_frame(0x020000000002, 0x020000000001, 53).size();
  auto count_of = [&](std::uint16_t tp_dst) {
    flowtable::FlowMask m;
    flowtable::FlowKey k;
    k.set(flowtable::FieldId::eth_type, 0x0800);
    k.set(flowtable::FieldId::ip_proto, 17);
    k.set(flowtable::FieldId::tp_dst, tp_dst);
    const auto* rule = sw.bridge().published()->flows->lookup(0, k, m);
    EXPECT_NE(rule, nullptr);
    const auto stats = sw.bridge().flows().stats(rule->id);
    EXPECT_TRUE(stats.has_value());
    EXPECT_EQ(stats->bytes, stats->packets * frame_size);
    return stats->packets;
  };
  EXPECT_EQ(count_of(53), 4u);
  EXPECT_EQ(count_of(54), 3u);
  EXPECT_EQ(count_of(55), 2u);
}

TEST(Pipeline, ResubmitAndMultipleOutputs) {
  SwitchHarness sw({"in", "a", "b"});
  sw.install(
      "table=0,priority=10,udp,actions=output:a,resubmit(,1)\n"
      "table=1,priority=10,udp,tp_dst=53,actions=output:b\n");
  sw.send("in", udp_frame(0x020000000002, 0x020000000001, 53));
  sw.send("in", udp_frame(0x020000000002, 0x020000000001, 54));
  sw.run();
  EXPECT_EQ(sw.received("a").size(), 2u);
  EXPECT_EQ(sw.received("b").size(), 1u);
}

// 30 tables, each resubmitting twice to the next: 2^30 lookups for one
// packet within the depth bound. The total bound stops it at 4096 lookups,
// with its own drop reason, and the next packet is served as usual. (The
// outputs made before the bound are not recalled: the executor acts as it
// goes, where OVS translates first and then drops everything.)
TEST(Pipeline, ResubmitsPerPacketAreBoundedInTotal) {
  SwitchHarness sw({"in", "out"});
  std::string flows;
  for (int t = 0; t < 30; ++t)
    flows += "table=" + std::to_string(t) + ",priority=1,udp,actions=resubmit(," +
             std::to_string(t + 1) + "),resubmit(," + std::to_string(t + 1) + ")\n";
  flows += "table=30,priority=1,actions=output:out\n";
  flows += "table=0,priority=5,tcp,actions=output:out\n";
  sw.install(flows);
  sw.send("in", udp_frame(0x020000000002, 0x020000000001, 53));
  sw.run();
  EXPECT_EQ(sw.stats().dropped(Drop::resubmit_total), 1u);
  EXPECT_EQ(sw.stats().dropped(Drop::resubmit_depth), 0u);
  EXPECT_LE(sw.received("out").size(), 4096u / 4 + 1) << "a copy per reached leaf, not 2^30";

  const auto tcp = tcp_frame(0x020000000002, 0x020000000001, 0x0a000001, 0x0a000002, 1, 443);
  sw.send("in", tcp);
  sw.run();
  const auto out = sw.received("out");
  EXPECT_EQ(std::count(out.begin(), out.end(), tcp), 1) << "the next packet goes its way";
}

TEST(Pipeline, MalformedFramesAreCountedNeverCrash) {
  SwitchHarness sw({"in", "out"});
  sw.install(
      "priority=10,tcp,tp_dst=443,actions=mod_tp_dst:80,output:out\npriority=5,actions=normal\n");
  const auto full = tcp_frame(0x020000000002, 0x020000000001, 0x0a000001, 0x0a000002, 1, 443);
  std::size_t sent = 0;
  for (std::size_t len = 0; len <= full.size(); ++len) {
    std::vector<std::uint8_t> f(full.begin(), full.begin() + static_cast<long>(len));
    if (f.empty()) continue;  // a ring slot cannot carry a zero-length frame distinctly
    sw.send("in", f);
    ++sent;
    if (sent % 16 == 0) sw.run();
  }
  // Bad IHL and a lying total length.
  auto bad_ihl = full;
  bad_ihl[14] = 0x43;
  sw.send("in", bad_ihl);
  auto bad_len = full;
  bad_len[16] = 0;
  bad_len[17] = 10;
  sw.send("in", bad_len);
  sw.run();
  sw.receivers();
  std::uint64_t anomalies = 0;
  for (const auto& c : sw.stats().parse)
    anomalies += c.get();
  EXPECT_GT(anomalies, 10u);
  EXPECT_EQ(sw.stats().packets.get(), sent + 2);
  EXPECT_EQ(sw.pool().available(), sw.pool().size());  // nothing leaked
}

}  // namespace
}  // namespace sockswitch::dataplane
