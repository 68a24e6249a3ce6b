// tests/fuzz/pipeline_fuzz.cc: arbitrary frames through whole bridges of rewriting flows.
//
// Two bridges of four in-memory ring ports, built once (as in
// tests/dataplane/switch_harness.h, no root, no devices):
//   * "rewrite": tables 0-3 of flows that rewrite every header they can
//     (VLAN push/pop/mod/strip, MACs, IPv4/IPv6 addresses, TOS/ECN, TTL,
//     ports, registers by load/move), resubmit between tables and to
//     themselves, ct() with commit/zone/mark into a later table, ct_clear,
//     and output to one, several, all ports, in_port, the controller and
//     NORMAL;
//   * "vlans": NORMAL over ports with access, trunk and native VLAN roles,
//     with a few flows that retag first.
// The first input byte picks the bridge; the rest is a sequence of frames,
// each a header byte (low two bits: the ingress port; bit 2: end the burst
// after it; bits 4-7: seconds to advance the clock first), a two-byte length
// and the bytes. Frames of one port collect into bursts of up to 32.
//
// Every input runs twice over the same state (the MAC table and the
// connection tracker are emptied before each run): once through a pipeline
// whose caches stay warm across inputs, and once through another that sees
// every frame under a snapshot generation of its own, so that its exact-match,
// megaflow and later-table caches all miss and every decision comes from the
// classifier. The frames each port transmits must be the same, in the same
// order: a megaflow that reads a bit it does not mask would show as a
// difference. After each run every packet taken from the pool is back in it.
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/bridge.h"
#include "dataplane/conntrack.h"
#include "dataplane/pipeline.h"
#include "flowtable/flow_parser.h"
#include "packet/burst.h"
#include "packet/packet_pool.h"
#include "ports/ring_port.h"

namespace dp = sockswitch::dataplane;
namespace pk = sockswitch::packet;
namespace ft = sockswitch::flowtable;

namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "pipeline_fuzz: %s\n", what);
  __builtin_trap();
}

constexpr const char* kPortNames[] = {"a", "b", "c", "d"};

// Flows in ovs-ofctl syntax. Rewrites are chosen by fields the fuzzer can
// set in a frame (port, VLAN, protocol, ports, registers after a load).
constexpr const char* kRewriteFlows = R"(
table=0,priority=100,in_port=a,dl_vlan=10,actions=strip_vlan,mod_vlan_vid:20,output:b,pop_vlan,output:c
table=0,priority=95,in_port=a,vlan_tci=0x1000/0x1000,actions=mod_vlan_pcp:5,push_vlan:0x88a8,mod_vlan_vid:7,output:d,strip_vlan,strip_vlan,output:b
table=0,priority=90,in_port=a,tcp,actions=mod_nw_src:10.9.9.9,mod_tp_dst:8080,dec_ttl,output:b,resubmit(,1)
table=0,priority=90,in_port=a,udp,actions=mod_tp_src:53,mod_nw_dst:192.168.1.1,mod_nw_tos:32,set_field:2->ip_ecn,output:c,ct(commit,zone=5,table=2)
table=0,priority=90,in_port=a,icmp,actions=mod_nw_ttl:1,dec_ttl,output:b
table=0,priority=90,in_port=a,tcp6,actions=mod_tp_dst:443,ct(table=2),output:d
table=0,priority=85,in_port=a,ipv6,actions=set_field:fd00::1->ipv6_src,dec_ttl,output:b,mod_nw_ttl:255,output:c
table=0,priority=80,in_port=b,ip,actions=mod_dl_src:02:00:00:00:00:01,mod_dl_dst:02:00:00:00:00:02,load:0x2a->NXM_NX_REG1[],resubmit(,1)
table=0,priority=80,in_port=b,arp,actions=set_field:10.0.0.99->arp_tpa,output:c,mod_vlan_vid:4095,output:d
table=0,priority=75,in_port=b,dl_type=0x8847,actions=push_vlan:0x8100,output:all
table=0,priority=70,in_port=c,actions=push_vlan:0x8100,set_field:4095->vlan_vid,output:a,output:in_port,all
table=0,priority=60,in_port=d,udp,tp_dst=53,actions=controller,flood,normal
table=0,priority=60,in_port=d,tcp,actions=ct(commit,table=2),ct_clear,resubmit(,3)
table=0,priority=1,actions=normal
table=1,priority=10,tcp,tp_dst=8080,actions=mod_vlan_vid:100,output:c,resubmit(,2)
table=1,priority=10,reg1=0x2a,actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],output:in_port,resubmit(,3)
table=1,priority=1,actions=resubmit(,3)
table=2,priority=10,ct_state=+trk+new,udp,actions=ct(commit,zone=5,exec(set_field:1->ct_mark)),output:d
table=2,priority=10,ct_state=+trk+est,actions=ct_clear,output:b
table=2,priority=5,ct_state=+trk+inv,actions=drop
table=2,priority=1,actions=resubmit(,3)
table=3,priority=10,udp,tp_dst=9,actions=output:a
table=3,priority=5,udp,actions=mod_tp_dst:9,resubmit(,3)
table=3,priority=4,tcp,actions=resubmit(,3)
table=3,priority=1,actions=strip_vlan,output:all
)";

constexpr const char* kVlanFlows = R"(
priority=10,in_port=d,actions=mod_vlan_vid:20,normal
priority=5,dl_vlan=30,actions=strip_vlan,normal
priority=4,dl_vlan=10,actions=mod_vlan_vid:20,mod_vlan_pcp:7,normal
priority=1,actions=normal
)";

constexpr dp::PipelineConfig kSmallCaches{.emc_entries = 64, .megaflow_entries_per_mask = 64};

struct Rig {
  pk::PacketPool pool{4096};
  dp::ThreadStats stats;
  dp::Conntrack conntrack{256};
  std::vector<std::unique_ptr<sockswitch::ports::RingPort>> ports;  // shared by both bridges
  std::unique_ptr<dp::Bridge> bridges[2];
  dp::Pipeline warm{0, pool, stats, kSmallCaches};
  dp::Pipeline cold{0, pool, stats, kSmallCaches};
  std::uint64_t cold_generation = std::uint64_t{1} << 40;  // beyond any real snapshot's

  Rig() {
    for (const char* n : kPortNames)
      ports.push_back(std::make_unique<sockswitch::ports::RingPort>(n));
    bridges[0] = make_bridge("rewrite", 0, kRewriteFlows, {});
    dp::VlanConfig access10{.mode = dp::VlanMode::access, .tag = 10, .trunks = {}};
    dp::VlanConfig trunk{.mode = dp::VlanMode::trunk, .tag = {}, .trunks = {10, 20}};
    dp::VlanConfig native{.mode = dp::VlanMode::native_untagged, .tag = 20, .trunks = {10, 20}};
    bridges[1] = make_bridge("vlans", 1, kVlanFlows, {access10, trunk, native, {}});
  }

  std::unique_ptr<dp::Bridge> make_bridge(const char* name, std::uint8_t index, const char* flows,
                                          std::vector<dp::VlanConfig> vlans) {
    auto b = std::make_unique<dp::Bridge>(name, index, dp::MacLearningConfig{}, &conntrack);
    ft::PortMap names;
    std::vector<dp::BridgePort> bp;
    for (std::uint32_t i = 0; i < 4; ++i) {
      dp::BridgePort p{ft::PortNo{i + 1}, ports[i].get()};
      if (i < vlans.size()) p.vlan = dp::PortVlan(vlans[i]);
      bp.push_back(p);
      names.add(kPortNames[i], ft::PortNo{i + 1});
    }
    b->set_ports(std::move(bp));
    const ft::FlowFile f = ft::parse_flow_file(flows, name, names);
    for (const auto& e : f.errors)
      std::fprintf(stderr, "pipeline_fuzz: %s\n", e.what());
    if (!f.errors.empty()) fail("the built-in flows do not parse");
    std::vector<ft::FlowMod> mods;
    for (const auto& p : f.flows)
      mods.push_back({ft::FlowModCommand::add, p.rule});
    b->apply_flows(mods);
    return b;
  }
};

struct Frame {
  std::uint8_t port;  // 0..3
  bool end_burst;
  std::uint8_t advance;
  const std::uint8_t* bytes;
  std::size_t length;
};

std::vector<Frame> split(const std::uint8_t* data, std::size_t size) {
  std::vector<Frame> out;
  std::size_t at = 0;
  while (at + 3 <= size) {
    const std::uint8_t h = data[at];
    std::size_t len = (std::size_t{data[at + 1]} << 8 | data[at + 2]) & 0x7ff;
    at += 3;
    len = std::min(len, size - at);
    out.push_back({static_cast<std::uint8_t>(h & 3), (h & 4) != 0,
                   static_cast<std::uint8_t>(h >> 4), data + at, len});
    at += len;
  }
  return out;
}

using Output = std::array<std::vector<std::vector<std::uint8_t>>, 4>;

void collect(Rig& rig, Output& out) {
  for (std::size_t i = 0; i < 4; ++i)
    while (auto f = rig.ports[i]->take())
      out[i].push_back(std::move(*f));
}

// Empties what packets leave behind between runs, so that both see the same state.
void reset_state(Rig& rig, dp::Bridge& bridge) {
  bridge.mac_table().flush();
  (void)rig.conntrack.flush(std::nullopt);
  while (bridge.controller().punts.front() != nullptr)
    bridge.controller().punts.pop();
  for (auto& p : rig.ports)
    (void)p->discard();
}

// One run of the frames; `fresh`: through the cold pipeline, one frame at a
// time, each under a new generation of the bridge's snapshot.
Output run(Rig& rig, dp::Bridge& bridge, const std::vector<Frame>& frames, bool fresh) {
  reset_state(rig, bridge);
  const std::size_t before = rig.pool.available();
  dp::BridgeSnapshot snap = *bridge.published();
  Output out;
  std::chrono::seconds now{1000};
  pk::Burst burst;
  std::size_t n = 0;
  std::uint8_t port = 0;
  auto process = [&] {
    if (n == 0) return;
    dp::Pipeline* p = &rig.warm;
    if (fresh) {
      snap.generation = ++rig.cold_generation;
      p = &rig.cold;
    }
    p->process(snap, std::span(burst.storage().data(), n), now);
    p->flush();
    n = 0;
    collect(rig, out);
  };
  for (const Frame& f : frames) {
    if (n > 0 && (f.port != port || f.advance != 0)) process();
    now += std::chrono::seconds(f.advance);
    port = f.port;
    pk::Packet* p = rig.pool.alloc();
    if (p == nullptr) fail("pool ran dry");
    // A port never hands over more than a buffer holds after its headroom.
    const std::uint32_t length =
        static_cast<std::uint32_t>(std::min<std::size_t>(f.length, p->tailroom()));
    if (length > 0) std::memcpy(p->append(length), f.bytes, length);
    p->set_in_port(ft::PortNo{f.port + 1u});
    burst.storage()[n++] = p;
    if (fresh || f.end_burst || n == pk::kBurstSize) process();
  }
  process();
  if (rig.pool.available() != before) fail("packets were not returned to the pool");
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Rig* rig = new Rig;  // once: parsing flows and building bridges is slow
  if (size == 0) return 0;
  dp::Bridge& bridge = *rig->bridges[data[0] & 1];
  const std::vector<Frame> frames = split(data + 1, size - 1);
  const Output warm = run(*rig, bridge, frames, false);
  const Output cold = run(*rig, bridge, frames, true);
  for (std::size_t i = 0; i < 4; ++i) {
    if (warm[i] == cold[i]) continue;
    std::fprintf(stderr, "port %s: %zu frames with caches, %zu without\n", kPortNames[i],
                 warm[i].size(), cold[i].size());
    for (std::size_t k = 0; k < std::max(warm[i].size(), cold[i].size()); ++k) {
      const bool same = k < warm[i].size() && k < cold[i].size() && warm[i][k] == cold[i][k];
      if (!same) {
        std::fprintf(stderr, "  first difference at frame %zu\n", k);
        break;
      }
    }
    fail("the caches changed what a port transmits");
  }
  return 0;
}
