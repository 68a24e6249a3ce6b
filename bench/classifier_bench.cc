// bench/classifier_bench.cc: classifier lookup latency and bulk build rate.
//
// Tables: N flows spread round-robin over S distinct mask shapes (IPv4-ish:
// eth_type plus a varying mix of in_port, ip_proto, IPv4 prefixes of
// varying length, masked tp_dst, vlan, metadata, reg0). Values are random
// under each mask. Two priority layouts:
//   banded: every flow of one shape shares a priority, and shapes have
//           distinct priorities (how hand-written flow files usually look);
//   random: every flow has a random priority (no shape can be skipped).
// Packets: 1024 precomputed keys, 90% copied from a random flow's match
// (random elsewhere, so they hit) and 10% fully random (almost all miss).
// One iteration = one lookup; time per iteration is the lookup latency.
#include <benchmark/benchmark.h>

#include <random>
#include <set>
#include <vector>

#include "flowtable/classifier.h"
#include "flowtable/classifier_builder.h"

namespace sockswitch::flowtable {
namespace {

using Rng = std::mt19937_64;

std::uint64_t prefix(unsigned bits, unsigned len) {
  const std::uint64_t all = (std::uint64_t{1} << bits) - 1;
  return len == 0 ? 0 : (all << (bits - len)) & all;
}

std::vector<FlowMask> make_shapes(std::size_t count, Rng& rng) {
  std::vector<FlowMask> shapes;
  std::set<std::array<std::uint64_t, kKeyWords>> seen;
  while (shapes.size() < count) {
    Match m;
    m.set_exact(FieldId::eth_type, 0xffff);
    if (rng() % 2) m.set_exact(FieldId::in_port, 0xffffffff);
    if (rng() % 2) m.set_exact(FieldId::ip_proto, 0xff);
    if (rng() % 2) m.set_masked(FieldId::ipv4_src, ~0ull, prefix(32, 8 + rng() % 25));
    if (rng() % 3) m.set_masked(FieldId::ipv4_dst, ~0ull, prefix(32, 8 + rng() % 25));
    if (rng() % 3 == 0) m.set_masked(FieldId::tp_dst, ~0ull, prefix(16, 8 + rng() % 9));
    if (rng() % 5 == 0) m.set_exact(FieldId::vlan_tci, 0x1fff);
    if (rng() % 6 == 0) m.set_exact(FieldId::metadata, ~0ull);
    if (rng() % 6 == 0) m.set_exact(FieldId::reg0, 0xffffffff);
    if (seen.insert(m.mask.w).second) shapes.push_back(m.mask);
  }
  return shapes;
}

struct Workload {
  std::vector<FlowRule> rules;
  std::vector<FlowKey> packets;
};

Workload make_workload(std::size_t flows, std::size_t shape_count, bool random_priority) {
  Rng rng(flows * 131 + shape_count * 7 + random_priority);
  const std::vector<FlowMask> shapes = make_shapes(shape_count, rng);
  Workload w;
  w.rules.reserve(flows);
  for (std::size_t i = 0; i < flows; ++i) {
    const std::size_t s = i % shapes.size();
    FlowRule r;
    r.priority = random_priority ? static_cast<std::uint16_t>(rng() % 65536)
                                 : static_cast<std::uint16_t>(1000 + s);
    for (std::size_t k = 0; k < kKeyWords; ++k) {
      r.match.mask.w[k] = shapes[s].w[k];
      r.match.value.w[k] = rng() & shapes[s].w[k];
    }
    r.match.value.set(FieldId::eth_type, kEthTypeIpv4);
    r.actions.push_back(Action{.kind = ActionKind::output, .port = PortNo{1}});
    w.rules.push_back(std::move(r));
  }
  for (std::size_t i = 0; i < 1024; ++i) {
    FlowKey k;
    for (auto& x : k.w)
      x = rng();
    if (i % 10 != 0) {
      const Match& m = w.rules[rng() % flows].match;
      for (std::size_t j = 0; j < kKeyWords; ++j)
        k.w[j] = (k.w[j] & ~m.mask.w[j]) | m.value.w[j];
    }
    w.packets.push_back(k);
  }
  return w;
}

Classifier build(const std::vector<FlowRule>& rules) {
  ClassifierBuilder b;
  for (const FlowRule& r : rules) {
    if (b.find_strict(r.match, r.priority) == nullptr) b.insert(r);  // skip rare duplicates
  }
  return b.build();
}

void BM_Lookup(benchmark::State& state) {
  const Workload w = make_workload(static_cast<std::size_t>(state.range(0)),
                                   static_cast<std::size_t>(state.range(1)), state.range(2) != 0);
  const Classifier c = build(w.rules);
  std::size_t i = 0, hits = 0;
  for (auto _ : state) {
    FlowMask consulted;
    const ClassifierRule* r = c.lookup(w.packets[i++ & 1023], consulted);
    hits += r != nullptr;
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(consulted);
  }
  state.counters["hit%"] =
      100.0 * static_cast<double>(hits) / static_cast<double>(state.iterations());
  state.counters["subtables"] = static_cast<double>(c.subtable_count());
  state.SetItemsProcessed(state.iterations());
}

void lookup_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"flows", "shapes", "random_prio"});
  for (int random_prio : {0, 1})
    for (int shapes : {5, 50})
      for (int flows : {10, 1000, 100000})
        b->Args({flows, shapes, random_prio});
}
BENCHMARK(BM_Lookup)->Apply(lookup_args);

// Bulk build of a fresh table: ClassifierBuilder::insert per rule + build().
void BM_BulkInsert(benchmark::State& state) {
  const Workload w = make_workload(static_cast<std::size_t>(state.range(0)),
                                   static_cast<std::size_t>(state.range(1)), true);
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<FlowRule> copy = w.rules;
    state.ResumeTiming();
    ClassifierBuilder b;
    for (FlowRule& r : copy)
      b.insert(std::move(r));
    Classifier c = b.build();
    benchmark::DoNotOptimize(c);
    state.PauseTiming();
    { Classifier gone = std::move(c); }  // freeing is not part of the rate
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_BulkInsert)
    ->ArgNames({"flows", "shapes"})
    ->Args({100000, 5})
    ->Args({100000, 50})
    ->Unit(benchmark::kMillisecond);

// One-flow change on a 100 000-flow table: the cost of a new version.
void BM_OneFlowVersion(benchmark::State& state) {
  const Workload w = make_workload(100000, static_cast<std::size_t>(state.range(0)), true);
  const Classifier base = build(w.rules);
  FlowRule extra = w.rules[0];
  extra.priority = static_cast<std::uint16_t>(extra.priority ^ 1);
  for (auto _ : state) {
    Classifier next = base.with_added(extra);
    benchmark::DoNotOptimize(next);
  }
}
BENCHMARK(BM_OneFlowVersion)->ArgNames({"shapes"})->Arg(1)->Arg(50)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sockswitch::flowtable

BENCHMARK_MAIN();
