// bench/checksum_completion_bench.cc: what finishing a sender's offloads costs the switch per
// packet.
//
// Detect: every frame an AF_XDP port receives is checked (header walk and
// pseudo-header sum), complete or not; this is what a frame with a complete
// checksum pays. Complete: a partial frame (a container's veth with default
// offloads) also pays the sum over its TCP payload. Segment: AF_PACKET cuts
// a 64 KiB GSO frame into 1448-byte segments, each copied and summed.
// Sizes are IPv4/TCP frame lengths: 64, 512 and 1500 bytes.
#include <benchmark/benchmark.h>

#include <array>

#include "dataplane/gso_segmenter.h"
#include "tests/dataplane/offload_frames.h"
#include "wire/checksum_completion.h"

namespace {

using sockswitch::dataplane::test::offload_frame;

constexpr std::size_t kEthIpTcp = 14 + 20 + 20;

void BM_DetectComplete(benchmark::State& state) {
  auto f = offload_frame(false, false, static_cast<std::size_t>(state.range(0)) - kEthIpTcp);
  for (auto _ : state) {
    benchmark::DoNotOptimize(sockswitch::wire::complete_if_partial(f.bytes));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_DetectComplete)->Arg(64)->Arg(512)->Arg(1500);

void BM_CompletePartial(benchmark::State& state) {
  auto f = offload_frame(false, false, static_cast<std::size_t>(state.range(0)) - kEthIpTcp);
  f.make_partial();
  const std::uint16_t partial = f.stored();
  for (auto _ : state) {
    f.store(partial);  // two bytes: the frame as the sender left it again
    benchmark::DoNotOptimize(sockswitch::wire::complete_if_partial(f.bytes));
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_CompletePartial)->Arg(64)->Arg(512)->Arg(1500);

void BM_SegmentGso64k(benchmark::State& state) {
  auto f = offload_frame(false, false, 65000 - kEthIpTcp);
  sockswitch::packet::PacketPool pool(256);
  std::array<sockswitch::packet::Packet*, 64> out{};
  std::size_t segments = 0;
  for (auto _ : state) {
    const std::size_t n = sockswitch::dataplane::segment_gso(
        f.bytes, {sockswitch::wire::GsoKind::tcp, 1448}, pool, out);
    pool.free_burst(std::span(out).first(n));
    segments += n;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(segments));  // per segment
  state.SetBytesProcessed(state.iterations() * 65000);
}
BENCHMARK(BM_SegmentGso64k);

}  // namespace

BENCHMARK_MAIN();
