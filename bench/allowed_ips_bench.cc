// bench/allowed_ips_bench.cc: cryptokey routing lookup latency and build time.
//
// Tables: N random IPv4 prefixes (lengths 8..32, weighted to /24../32 as
// peer subnets and hosts are), or N random IPv6 prefixes (/32../128), each
// owned by one of 256 peers, plus a default route to peer 0 (WARP-style
// 0.0.0.0/0 or ::/0). Queries: 4096 precomputed addresses, half inside a
// random prefix of the table and half random. One iteration = one lookup
// through AllowedIpsLookup, the copy the poll threads read.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "ports/wireguard/allowed_ips.h"

namespace sockswitch::wireguard {
namespace {

using Rng = std::mt19937_64;

IpAddress random_address(Rng& rng, bool v4) {
  std::array<std::uint8_t, 16> b;
  for (auto& x : b)
    x = static_cast<std::uint8_t>(rng());
  return v4 ? IpAddress::v4(std::span<const std::uint8_t, 4>(b.data(), 4)) : IpAddress::v6(b);
}

struct Fixture {
  AllowedIps table;
  std::vector<IpPrefix> prefixes;
  std::vector<IpAddress> queries;
};

Fixture make(std::size_t n, bool v4) {
  Rng rng(1);
  Fixture f;
  f.table.insert(*IpPrefix::parse(v4 ? "0.0.0.0/0" : "::/0"), 0);
  while (f.table.size() < n + 1) {
    const IpAddress a = random_address(rng, v4);
    const unsigned len = v4 ? (rng() % 2 ? 24 + rng() % 9 : 8 + rng() % 25)
                            : (rng() % 2 ? 64 + rng() % 65 : 32 + rng() % 97);
    const IpPrefix p = IpPrefix{a, static_cast<std::uint8_t>(len)}.masked();
    f.table.insert(p, static_cast<PeerId>(1 + rng() % 255));
    f.prefixes.push_back(p);
  }
  for (int i = 0; i < 4096; ++i) {
    if (i % 2 == 0) {
      f.queries.push_back(random_address(rng, v4));
      continue;
    }
    // An address inside a random table prefix: its bits, random host part.
    const IpPrefix& p = f.prefixes[rng() % f.prefixes.size()];
    const IpAddress r = random_address(rng, v4);
    std::array<std::uint8_t, 16> b{};
    for (std::size_t k = 0; k < p.address.bytes().size(); ++k) {
      const int bits = static_cast<int>(p.length) - static_cast<int>(k * 8);
      const std::uint8_t keep = bits >= 8  ? 0xff
                                : bits > 0 ? static_cast<std::uint8_t>(0xff00u >> bits)
                                           : 0;
      b[k] = static_cast<std::uint8_t>((p.address.bytes()[k] & keep) | (r.bytes()[k] & ~keep));
    }
    f.queries.push_back(v4 ? IpAddress::v4(std::span<const std::uint8_t, 4>(b.data(), 4))
                           : IpAddress::v6(b));
  }
  return f;
}

void BM_Lookup(benchmark::State& state, bool v4) {
  const Fixture f = make(static_cast<std::size_t>(state.range(0)), v4);
  const AllowedIpsLookup l = f.table.build_lookup();
  std::vector<std::array<std::uint8_t, 16>> raw;
  for (const IpAddress& a : f.queries) {
    std::array<std::uint8_t, 16> b{};
    std::copy(a.bytes().begin(), a.bytes().end(), b.begin());
    raw.push_back(b);
  }
  std::size_t i = 0;
  std::uint64_t found = 0;
  for (auto _ : state) {
    const auto& q = raw[i++ & 4095];
    const auto peer = v4 ? l.lookup_v4(q.data()) : l.lookup_v6(q.data());
    found += peer.value_or(0);
    benchmark::DoNotOptimize(found);
  }
  state.counters["runs"] = static_cast<double>(l.run_count());
}

void BM_Build(benchmark::State& state) {
  const Fixture f = make(static_cast<std::size_t>(state.range(0)), true);
  for (auto _ : state) {
    AllowedIpsLookup l = f.table.build_lookup();
    benchmark::DoNotOptimize(l);
  }
}

BENCHMARK_CAPTURE(BM_Lookup, v4, true)->Arg(10)->Arg(1000)->Arg(100000);
BENCHMARK_CAPTURE(BM_Lookup, v6, false)->Arg(10)->Arg(1000)->Arg(100000);
BENCHMARK(BM_Build)->Arg(1000)->Arg(100000)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sockswitch::wireguard

BENCHMARK_MAIN();
