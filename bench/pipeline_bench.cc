// bench/pipeline_bench.cc: the whole packet path on one core, no I/O.
//
// A bridge of in-memory ring ports served on the benchmark thread exactly as
// a poll thread serves it: each iteration injects one burst of 32 64-byte
// frames into the ingress ring, receives it (copy into the pool), runs the
// Pipeline (parse, EMC, megaflow, classifier, actions), flushes the output
// buffers (copy into the egress ring) and empties the egress ring. Reported:
// items/s (packets per second) and `cycles_per_pkt`, the TSC cycles the
// Pipeline itself spent per packet (ring copies excluded).
//
// Cases (issue 4):
//   Vps/EmcHit       the seed VPS table; 64 flows' worth of 5-tuples that
//                    all stay in the exact-match cache.
//   Flows1k_Tuples10k 1 000 flows on (nw_dst, tp_dst); 10 000 distinct
//                    5-tuples, more than the EMC holds, so megaflows work too.
//   Flows100k        100 000 random flows of 32 mask shapes; 65 536 random
//                    packets drawn from them: mostly the megaflow and
//                    classifier path.
//   Normal/Flood     `actions=normal`, destination unknown: a flood to the
//                    three other ports (two copies per packet).
//   Normal/FloodVlans the same with VLAN settings (ingress and one port
//                    access VLAN 10, one trunk, one access VLAN 20): one
//                    untagged copy, one tagged (a tag pushed per packet).
//   Metered          `actions=meter:1,output:out`, a meter that never drops:
//                    the bucket arithmetic per packet.
//   Conntrack/Established the seed VPS table behind a `ct(table=1)` stage,
//                    the 64 connections committed and established, among
//                    1 000 000 other tracked connections (issue 23's goal:
//                    >= 0.6x Vps/EmcHit).
//   Conntrack/NewConnections ct(commit) of a new UDP connection per packet,
//                    straight into the tracker (no pipeline): the setup rate.
#include <benchmark/benchmark.h>

#include <random>

#include "dataplane/bridge.h"
#include "dataplane/conntrack.h"
#include "dataplane/flow_extractor.h"
#include "dataplane/pipeline.h"
#include "flowtable/flow_parser.h"
#include "ports/ring_port.h"

namespace sockswitch::dataplane {

using packet::Burst;
using packet::kBurstSize;
using packet::Packet;
using packet::PacketPool;

namespace {

using flowtable::FieldId;

std::vector<std::uint8_t> udp_frame(std::uint32_t src, std::uint32_t dst, std::uint16_t sport,
                                    std::uint16_t dport, std::uint8_t proto = 17) {
  std::vector<std::uint8_t> f(60, 0);  // 64 bytes on the wire with the FCS
  const std::uint8_t head[] = {0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00};
  std::copy(std::begin(head), std::end(head), f.begin());
  std::uint8_t* ip = &f[14];
  ip[0] = 0x45;
  ip[3] = 46;
  ip[8] = 64;
  ip[9] = proto;
  for (int i = 0; i < 4; ++i) {
    ip[12 + i] = static_cast<std::uint8_t>(src >> (24 - 8 * i));
    ip[16 + i] = static_cast<std::uint8_t>(dst >> (24 - 8 * i));
  }
  std::uint8_t* l4 = &f[34];
  l4[0] = static_cast<std::uint8_t>(sport >> 8), l4[1] = static_cast<std::uint8_t>(sport);
  l4[2] = static_cast<std::uint8_t>(dport >> 8), l4[3] = static_cast<std::uint8_t>(dport);
  if (proto == 6) {
    ip[3] = 40;     // IPv4 + TCP, then 6 bytes of Ethernet padding
    l4[12] = 0x50;  // data offset 5
    l4[13] = 0x10;  // ACK
  } else {
    l4[5] = 26;  // UDP length
  }
  return f;
}

class Rig {
 public:
  explicit Rig(Conntrack* conntrack = nullptr)
      : pool_(8192), pipeline_(0, pool_, stats_), bridge_("bench", 0, {}, conntrack) {
    const char* names[] = {"nm-server", "warp0", "veth102", "out"};
    std::vector<BridgePort> bp;
    for (std::uint32_t i = 0; i < 4; ++i) {
      ports_.push_back(std::make_unique<ports::RingPort>(names[i], 4096));
      map_.add(names[i], flowtable::PortNo{i + 1});
      bp.push_back({flowtable::PortNo{i + 1}, ports_.back().get()});
    }
    bridge_.set_ports(std::move(bp));
  }

  void install_text(const std::string& text) {
    std::vector<flowtable::FlowMod> mods;
    const auto file = flowtable::parse_flow_file(text, "<bench>", map_);
    for (const auto& f : file.flows)
      mods.push_back({flowtable::FlowModCommand::add, f.rule});
    bridge_.apply_flows(mods);
  }
  void install(std::vector<flowtable::FlowMod> mods) { bridge_.apply_flows(mods); }
  void set_vlans(const std::vector<VlanConfig>& vlans) {
    std::vector<BridgePort> bp(bridge_.ports().begin(), bridge_.ports().end());
    for (std::size_t i = 0; i < bp.size() && i < vlans.size(); ++i)
      bp[i].vlan = PortVlan(vlans[i]);
    bridge_.set_ports(std::move(bp));
  }
  void set_meter(const flowtable::MeterConfig& m) {
    bridge_.set_meters(MeterSet().with(std::make_shared<MeterState>(m)));
  }

  void run(benchmark::State& state, const std::vector<std::vector<std::uint8_t>>& frames,
           std::size_t in) {
    ports::RingPort& rx = *ports_[in];
    const BridgeSnapshot* snap = bridge_.published();
    const auto now = std::chrono::seconds(1000);
    std::size_t next = 0;
    for (auto _ : state) {
      for (std::size_t i = 0; i < kBurstSize; ++i) {
        (void)rx.inject(frames[next]);
        next = next + 1 == frames.size() ? 0 : next + 1;
      }
      Burst burst;
      burst.set_size(rx.rx_burst(0, pool_, burst.storage()));
      for (Packet* p : burst)
        p->set_in_port(flowtable::PortNo{std::uint32_t(in + 1)});
      pipeline_.process(*snap, burst.packets(), now);
      pipeline_.flush();
      for (auto& p : ports_)
        p->discard();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * kBurstSize));
    const double packets = static_cast<double>(stats_.packets.get());
    state.counters["cycles_per_pkt"] = static_cast<double>(stats_.cycles.get()) / packets;
    state.counters["emc_hit_rate"] = static_cast<double>(stats_.emc_hits.get()) / packets;
    state.counters["megaflow_hit_rate"] = static_cast<double>(stats_.megaflow_hits.get()) / packets;
  }

  flowtable::PortMap& map() { return map_; }

 private:
  PacketPool pool_;
  ThreadStats stats_;
  Pipeline pipeline_;
  Bridge bridge_;
  flowtable::PortMap map_;
  std::vector<std::unique_ptr<ports::RingPort>> ports_;
};

void BM_Vps_EmcHit(benchmark::State& state) {
  Rig rig;
  rig.install_text(
      "priority=100,tcp,tp_dst=443,actions=output:veth102\n"
      "priority=100,tcp,tp_dst=8443,actions=output:veth102\n"
      "priority=100,in_port=veth102,actions=output:warp0\n"
      "priority=100,in_port=warp0,actions=output:veth102\n"
      "priority=80,in_port=nm-server,actions=normal\n"
      "priority=10,actions=normal\n");
  std::vector<std::vector<std::uint8_t>> frames;  // user HTTPS to Xray, 64 connections
  for (std::uint16_t i = 0; i < 64; ++i)
    frames.push_back(udp_frame(0x0a010001, 0x0a020066, 40000 + i, 443, 6));
  rig.run(state, frames, 0);
}

void BM_Flows1k_Tuples10k(benchmark::State& state) {
  Rig rig;
  std::mt19937_64 rng(7);
  std::vector<flowtable::FlowMod> mods;
  std::vector<std::pair<std::uint32_t, std::uint16_t>> dsts;
  for (int i = 0; i < 1000; ++i) {
    const std::uint32_t dst = 0x0a000000 | static_cast<std::uint32_t>(rng() & 0xffffff);
    const auto port = static_cast<std::uint16_t>(1024 + rng() % 60000);
    dsts.emplace_back(dst, port);
    flowtable::FlowMod m{flowtable::FlowModCommand::add, {}};
    m.rule.priority = static_cast<std::uint16_t>(100 + rng() % 1000);
    m.rule.match.set_exact(FieldId::eth_type, flowtable::kEthTypeIpv4);
    m.rule.match.set_exact(FieldId::ip_proto, flowtable::kIpProtoUdp);
    m.rule.match.set_exact(FieldId::ipv4_dst, dst);
    m.rule.match.set_exact(FieldId::tp_dst, port);
    m.rule.actions.push_back({.kind = flowtable::ActionKind::output, .port = flowtable::PortNo{4}});
    mods.push_back(std::move(m));
  }
  rig.install(std::move(mods));
  std::vector<std::vector<std::uint8_t>> frames;
  for (int i = 0; i < 10000; ++i) {
    const auto& [dst, port] = dsts[static_cast<std::size_t>(i) % dsts.size()];
    frames.push_back(udp_frame(0x0b000000 | static_cast<std::uint32_t>(rng() & 0xffff), dst,
                               static_cast<std::uint16_t>(rng()), port));
  }
  rig.run(state, frames, 0);
}

void BM_Flows100k(benchmark::State& state) {
  Rig rig;
  std::mt19937_64 rng(11);
  auto prefix = [](unsigned len) {
    return len == 0 ? 0u : static_cast<std::uint32_t>(~0ull << (32 - len));
  };
  std::vector<flowtable::FlowMod> mods;
  std::vector<std::vector<std::uint8_t>> frames;
  for (int i = 0; i < 100000; ++i) {
    const unsigned shape = static_cast<unsigned>(i % 32);
    const std::uint32_t src = static_cast<std::uint32_t>(rng()),
                        dst = static_cast<std::uint32_t>(rng());
    const auto port = static_cast<std::uint16_t>(rng());
    flowtable::FlowMod m{flowtable::FlowModCommand::add, {}};
    m.rule.priority = static_cast<std::uint16_t>(rng() % 60000 + 1);
    m.rule.match.set_exact(FieldId::eth_type, flowtable::kEthTypeIpv4);
    m.rule.match.set_exact(FieldId::ip_proto, flowtable::kIpProtoUdp);
    m.rule.match.set_masked(FieldId::ipv4_src, src, prefix(8 + (shape % 4) * 8));
    m.rule.match.set_masked(FieldId::ipv4_dst, dst, prefix(8 + (shape / 4 % 4) * 8));
    if (shape >= 16) m.rule.match.set_exact(FieldId::tp_dst, port);
    m.rule.actions.push_back({.kind = flowtable::ActionKind::output, .port = flowtable::PortNo{4}});
    mods.push_back(std::move(m));
    if (frames.size() < 65536)
      frames.push_back(udp_frame(src, dst, static_cast<std::uint16_t>(rng()), port));
  }
  rig.install(std::move(mods));
  rig.run(state, frames, 0);
}

std::vector<std::vector<std::uint8_t>> flow_frames(int n) {
  std::vector<std::vector<std::uint8_t>> frames;
  for (int i = 0; i < n; ++i)
    frames.push_back(
        udp_frame(0x0a010001, 0x0a020066, static_cast<std::uint16_t>(40000 + i), 443, 17));
  return frames;
}

void BM_Normal_Flood(benchmark::State& state) {
  Rig rig;
  rig.install_text("priority=10,actions=normal\n");
  rig.run(state, flow_frames(64), 0);
}

void BM_Normal_FloodVlans(benchmark::State& state) {
  Rig rig;
  rig.install_text("priority=10,actions=normal\n");
  using M = VlanMode;
  rig.set_vlans({{M::access, 10, {}},
                 {M::access, 10, {}},
                 {M::trunk, std::nullopt, {}},
                 {M::access, 20, {}}});
  rig.run(state, flow_frames(64), 0);
}

void BM_Metered(benchmark::State& state) {
  Rig rig;
  rig.set_meter({1, flowtable::MeterUnit::pktps, false, false, {{4'000'000'000u, 0}}});
  rig.install_text("priority=10,actions=meter:1,output:out\n");
  rig.run(state, flow_frames(64), 0);
}

constexpr const char* kVpsFlows =
    "priority=100,tcp,tp_dst=443,actions=output:veth102\n"
    "priority=100,tcp,tp_dst=8443,actions=output:veth102\n"
    "priority=100,in_port=veth102,actions=output:warp0\n"
    "priority=100,in_port=warp0,actions=output:veth102\n"
    "priority=80,in_port=nm-server,actions=normal\n"
    "priority=10,actions=normal\n";

// One packet through the tracker outside any pipeline.
CtVerdict track_frame(Conntrack& table, const std::vector<std::uint8_t>& frame,
                      const flowtable::Action& ct) {
  std::vector<std::uint8_t> buffer(2048);
  Packet p;
  p.bind(buffer.data(), static_cast<std::uint32_t>(buffer.size()));
  std::copy(frame.begin(), frame.end(), p.append(static_cast<std::uint32_t>(frame.size())));
  flowtable::FlowKey key;
  (void)extract_flow(p, key);
  return table.track(p, key, ct, std::chrono::seconds(1000));
}

flowtable::Action ct_commit() {
  flowtable::Action a;
  a.kind = flowtable::ActionKind::ct;
  a.table = flowtable::kCtNoTable;
  a.ct_flags = flowtable::kCtCommit;
  return a;
}

// `first` in table 0, then the seed VPS table in table 1.
std::string behind(std::string first) {
  for (std::string_view rest = kVpsFlows; !rest.empty();) {
    const std::size_t nl = rest.find('\n');
    first += "table=1," + std::string(rest.substr(0, nl)) + "\n";
    rest.remove_prefix(nl + 1);
  }
  return first;
}

// The same two-table shape without ct(): what the second lookup costs.
void BM_Vps_Resubmitted(benchmark::State& state) {
  Rig rig;
  rig.install_text(behind("table=0,priority=100,ip,actions=resubmit(,1)\n"));
  std::vector<std::vector<std::uint8_t>> frames;
  for (std::uint16_t i = 0; i < 64; ++i)
    frames.push_back(udp_frame(0x0a010001, 0x0a020066, 40000 + i, 443, 6));
  rig.run(state, frames, 0);
}

void BM_Conntrack_Established(benchmark::State& state) {
  const auto kBackground = static_cast<std::uint32_t>(state.range(0));
  Conntrack table;
  const flowtable::Action commit = ct_commit();
  for (std::uint32_t i = 0; i < kBackground; ++i)
    (void)track_frame(table, udp_frame(0x0b000000 + i, 0x0a020066, 5000, 53), commit);
  std::vector<std::vector<std::uint8_t>> frames;
  for (std::uint16_t i = 0; i < 64; ++i) {
    frames.push_back(udp_frame(0x0a010001, 0x0a020066, 40000 + i, 443, 6));
    (void)track_frame(table, frames.back(), commit);
  }
  Rig rig(&table);
  rig.install_text(behind("table=0,priority=100,ip,actions=ct(table=1)\n"));
  rig.run(state, frames, 0);
  state.counters["tracked"] = static_cast<double>(table.counters().connections);
}

void BM_Conntrack_NewConnections(benchmark::State& state) {
  Conntrack table;
  const flowtable::Action commit = ct_commit();
  std::vector<std::uint8_t> buffer(2048);
  Packet p;
  p.bind(buffer.data(), static_cast<std::uint32_t>(buffer.size()));
  const auto frame = udp_frame(0x0b000000, 0x0a020066, 5000, 53);
  std::copy(frame.begin(), frame.end(), p.append(static_cast<std::uint32_t>(frame.size())));
  flowtable::FlowKey key;
  (void)extract_flow(p, key);
  std::uint32_t n = 0;
  for (auto _ : state) {
    key.set(FieldId::ipv4_src, 0x0b000000 + n);  // UDP's tuple is all in the key
    benchmark::DoNotOptimize(table.track(p, key, commit, std::chrono::seconds(1000)));
    if (++n == 2'000'000) {
      state.PauseTiming();
      (void)table.flush(std::nullopt);
      n = 0;
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

BENCHMARK(BM_Vps_EmcHit);
BENCHMARK(BM_Flows1k_Tuples10k);
BENCHMARK(BM_Flows100k);
BENCHMARK(BM_Normal_Flood);
BENCHMARK(BM_Normal_FloodVlans);
BENCHMARK(BM_Metered);
BENCHMARK(BM_Vps_Resubmitted);
BENCHMARK(BM_Conntrack_Established)->Arg(0)->Arg(1'000'000);
BENCHMARK(BM_Conntrack_NewConnections);

}  // namespace
}  // namespace sockswitch::dataplane

BENCHMARK_MAIN();
