// bench/flow_extract_bench.cc: header parsing and MAC learning, per packet.
//
// Extraction runs over real pool buffers in bursts of kBurstSize, as a poll
// thread would after rx. "hot" cycles through one burst (headers in L1);
// "pool" cycles through 1024 packets (64 KiB of headers spread over 2 MiB of
// buffers), closer to a busy rx ring. items/s is packets per second; ns/pkt
// is its inverse.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <random>
#include <vector>

#include "dataplane/flow_extractor.h"
#include "dataplane/mac_learning.h"
#include "packet/burst.h"
#include "packet/packet_pool.h"

namespace {

using namespace sockswitch::dataplane;
using sockswitch::flowtable::FlowKey;
using sockswitch::flowtable::PortNo;
using sockswitch::packet::kBurstSize;
using sockswitch::packet::MacAddr;
using sockswitch::packet::Packet;
using sockswitch::packet::PacketPool;

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = v >> 8;
  p[1] = v & 0xff;
}

// A 64-byte frame on the wire (60 without FCS): Ethernet, IPv4, TCP, padding.
bool write_ipv4_tcp(Packet& p, std::uint32_t i) {
  std::uint8_t* f = p.append(60);
  if (f == nullptr) return false;
  std::memset(f, 0, 60);
  const std::uint8_t eth[14] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00};
  std::memcpy(f, eth, sizeof eth);
  std::uint8_t* ip = f + 14;
  ip[0] = 0x45;
  put16(ip + 2, 40);
  ip[8] = 64;
  ip[9] = 6;
  put16(ip + 12, 0x0a00);
  put16(ip + 14, static_cast<std::uint16_t>(i));
  put16(ip + 16, 0x0a00);
  put16(ip + 18, 0x0101);
  std::uint8_t* tcp = ip + 20;
  put16(tcp, static_cast<std::uint16_t>(1024 + i));
  put16(tcp + 2, 443);
  put16(tcp + 12, 0x5010);
  p.set_in_port(PortNo{1});
  return true;
}

// 78 bytes: Ethernet, IPv6, TCP.
bool write_ipv6_tcp(Packet& p, std::uint32_t i) {
  std::uint8_t* f = p.append(74);
  if (f == nullptr) return false;
  std::memset(f, 0, 74);
  f[12] = 0x86;
  f[13] = 0xdd;
  std::uint8_t* ip = f + 14;
  ip[0] = 0x60;
  put16(ip + 4, 20);
  ip[6] = 6;
  ip[7] = 64;
  ip[8] = 0x20;
  put16(ip + 22, static_cast<std::uint16_t>(i));
  ip[24] = 0x20;
  ip[39] = 1;
  std::uint8_t* tcp = ip + 40;
  put16(tcp, static_cast<std::uint16_t>(1024 + i));
  put16(tcp + 2, 443);
  put16(tcp + 12, 0x5010);
  p.set_in_port(PortNo{1});
  return true;
}

template <bool (*kWrite)(Packet&, std::uint32_t)>
void BM_ExtractBurst(benchmark::State& state) {
  const auto count = static_cast<std::uint32_t>(state.range(0));
  PacketPool pool(count);
  std::vector<Packet*> pkts(count);
  if (pool.alloc_burst(pkts) != count) state.SkipWithError("pool");
  for (std::uint32_t i = 0; i < count; ++i)
    kWrite(*pkts[i], i);
  std::array<FlowKey, kBurstSize> keys;
  std::array<ParseResult, kBurstSize> results;
  std::size_t at = 0;
  for (auto _ : state) {
    const auto burst = std::span(pkts).subspan(at, kBurstSize);
    extract_burst(burst, keys, results);
    benchmark::DoNotOptimize(keys.data());
    benchmark::DoNotOptimize(results.data());
    at = at + kBurstSize == count ? 0 : at + kBurstSize;
  }
  const auto packets = static_cast<double>(state.iterations() * kBurstSize);
  state.SetItemsProcessed(state.iterations() * kBurstSize);
  state.counters["ns/pkt"] =
      benchmark::Counter(packets, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  pool.free_burst(pkts);
}
BENCHMARK(BM_ExtractBurst<write_ipv4_tcp>)->Name("ExtractBurst/ipv4_tcp_64B")->Arg(32)->Arg(1024);
BENCHMARK(BM_ExtractBurst<write_ipv6_tcp>)->Name("ExtractBurst/ipv6_tcp_78B")->Arg(32)->Arg(1024);

// Lookups of known addresses in a table half full, keys in random order.
void BM_MacLookup(benchmark::State& state) {
  MacLearningTable table(
      {.max_entries = 8192, .aging = std::chrono::seconds{300}, .max_ports = 256, .seed = 1});
  std::mt19937_64 rng(1);
  std::vector<MacAddr> macs(4096);
  for (std::size_t i = 0; i < macs.size(); ++i) {
    macs[i] = MacAddr::from_u64(rng() & ~0x010000000000ULL);
    table.learn(macs[i], VlanId{10}, PortNo{static_cast<std::uint32_t>(i % 16 + 1)},
                std::chrono::seconds{0});
  }
  std::shuffle(macs.begin(), macs.end(), rng);
  const bool miss = state.range(0) != 0;
  if (miss)
    for (MacAddr& m : macs)
      m = MacAddr::from_u64(m.bits ^ 0x0000ff000000);
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.lookup(macs[i], VlanId{10}, std::chrono::seconds{1}));
    i = (i + 1) & (macs.size() - 1);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(miss ? "miss" : "hit");
}
BENCHMARK(BM_MacLookup)->Name("MacLookup")->Arg(0)->Arg(1);

// The per-packet learning call for a known host: same port, same second.
void BM_MacLearnKnown(benchmark::State& state) {
  MacLearningTable table(
      {.max_entries = 8192, .aging = std::chrono::seconds{300}, .max_ports = 256, .seed = 1});
  std::vector<MacAddr> macs(4096);
  std::mt19937_64 rng(2);
  for (MacAddr& m : macs) {
    m = MacAddr::from_u64(rng() & ~0x010000000000ULL);
    table.learn(m, VlanId{10}, PortNo{1}, std::chrono::seconds{0});
  }
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.learn(macs[i], VlanId{10}, PortNo{1}, std::chrono::seconds{0}));
    i = (i + 1) & (macs.size() - 1);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MacLearnKnown)->Name("MacLearnKnown");

// A random-source-MAC flood into a full table: every call evicts.
void BM_MacLearnFlood(benchmark::State& state) {
  MacLearningTable table(
      {.max_entries = 8192, .aging = std::chrono::seconds{300}, .max_ports = 256, .seed = 1});
  for (std::uint32_t i = 0; i < 64; ++i)
    table.learn(MacAddr::from_u64(0x020000000000 + i), VlanId{10}, PortNo{i % 8 + 1},
                std::chrono::seconds{0});
  std::mt19937_64 rng(3);
  for (auto _ : state) {
    benchmark::DoNotOptimize(table.learn(MacAddr::from_u64(rng() & ~0x010000000000ULL), VlanId{10},
                                         PortNo{9}, std::chrono::seconds{1}));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MacLearnFlood)->Name("MacLearnFlood");

}  // namespace

BENCHMARK_MAIN();
