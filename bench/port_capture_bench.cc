// bench/port_capture_bench.cc: what `ctl capture` costs the poll thread.
//
// Armed: a burst of 32 frames copied into the capture ring (the clock read
// once per burst, each frame claimed and copied), with a reader taking
// them out as fast as they come, so the ring never fills. Full: the reader
// has stopped and every frame is counted as dropped from the capture,
// which is what a slow `tcpdump` costs. Frame sizes: 64, 512 and 1500.
// Unarmed the poll thread pays one pointer load per burst, not measured
// here (it is inside the pipeline benches' noise).
#include <benchmark/benchmark.h>

#include <array>

#include "packet/packet_pool.h"
#include "ports/port_capture.h"

namespace {

using sockswitch::packet::Packet;
using sockswitch::packet::PacketPool;
using sockswitch::ports::CaptureDirection;
using sockswitch::ports::PortCapture;

constexpr std::size_t kBurst = 32;

struct Burst {
  explicit Burst(std::uint32_t size) : pool(kBurst) {
    for (Packet*& p : packets) {
      p = pool.alloc();
      std::uint8_t* bytes = p->append(size);
      for (std::uint32_t i = 0; i < size; ++i)
        bytes[i] = static_cast<std::uint8_t>(i);
    }
  }
  ~Burst() {
    for (Packet* p : packets)
      pool.free(p);
  }
  PacketPool pool;
  std::array<Packet*, kBurst> packets{};
};

void BM_CaptureArmed(benchmark::State& state) {
  Burst burst(static_cast<std::uint32_t>(state.range(0)));
  PortCapture capture(CaptureDirection::both);
  PortCapture::Frame out;
  for (auto _ : state) {
    capture.record(CaptureDirection::rx, burst.packets);
    while (capture.take(out)) {
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kBurst));
  state.counters["dropped"] = static_cast<double>(capture.dropped());
}
BENCHMARK(BM_CaptureArmed)->Arg(64)->Arg(512)->Arg(1500);

void BM_CaptureFull(benchmark::State& state) {
  Burst burst(static_cast<std::uint32_t>(state.range(0)));
  PortCapture capture(CaptureDirection::both);
  while (capture.recorded() < PortCapture::kSlots)
    capture.record(CaptureDirection::rx, burst.packets);
  for (auto _ : state)
    capture.record(CaptureDirection::rx, burst.packets);
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(kBurst));
}
BENCHMARK(BM_CaptureFull)->Arg(64)->Arg(1500);

}  // namespace

BENCHMARK_MAIN();
