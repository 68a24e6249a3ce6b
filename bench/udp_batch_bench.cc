// bench/udp_batch_bench.cc: what UDP GSO and GRO buy the WireGuard underlay socket.
//
// One thread sends a burst of 32 datagrams of 1452 bytes (a 1420-byte inner
// packet plus WireGuard's 32 bytes of header and tag) over loopback with
// UdpBatchSocket::send_burst and receives them with recv_burst into 2 KiB
// buffers, as the WireGuard port does with pool packets. Loopback runs the
// receive path in the sender's system call, so one iteration is the whole
// kernel cost of moving the burst both ways, on one core. Variants: GSO on
// the sender (one message per burst instead of 32), GRO on the receiver (one
// super-datagram per burst, split by copying, instead of 32 datagrams
// written straight into the buffers). Reported: items/s = datagrams per
// second; bytes/s of UDP payload.
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "ports/udp_batch_socket.h"

namespace sockswitch::ports {
namespace {

constexpr std::size_t kBurst = 32;
constexpr std::uint32_t kDatagram = 1452;

void BM_LoopbackBurst(benchmark::State& state) {
  const bool gso = state.range(0) != 0, gro = state.range(1) != 0;
  UdpBatchSocket rx({.gro = gro}), tx({.gso = gso});
  if (tx.gso() != gso || rx.gro() != gro) {
    state.SkipWithError("offload not available on this kernel");
    return;
  }
  const UdpEndpoint to = *UdpEndpoint::parse("127.0.0.1:" + std::to_string(rx.port()));
  std::vector<std::uint8_t> payload(kDatagram * kBurst, 0xab);
  std::vector<TxDatagram> out(kBurst);
  for (std::size_t i = 0; i < kBurst; ++i)
    out[i] = {payload.data() + i * kDatagram, kDatagram, to};
  std::vector<std::vector<std::uint8_t>> buffers(kBurst, std::vector<std::uint8_t>(2048));
  std::vector<RxDatagram> in(kBurst);
  std::uint64_t received = 0, lost = 0;
  for (auto _ : state) {
    const UdpSendResult s = tx.send_burst(out);
    std::size_t got = 0;
    // Loopback delivered the burst during the send; a short read means loss.
    for (int tries = 0; got < s.sent && tries < 4; ++tries) {
      for (std::size_t i = 0; i < kBurst - got; ++i)
        in[i] = {buffers[i].data(), 2048, nullptr, 0, {}};
      got += rx.recv_burst(std::span(in).first(kBurst - got));
    }
    received += got;
    lost += kBurst - got;
    benchmark::DoNotOptimize(in.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(received));
  state.SetBytesProcessed(static_cast<std::int64_t>(received * kDatagram));
  state.counters["lost"] = static_cast<double>(lost);
  state.counters["gso_msgs"] = static_cast<double>(tx.counters().tx_gso_messages);
  state.counters["gro_batches"] = static_cast<double>(rx.counters().rx_gro_batches);
}
BENCHMARK(BM_LoopbackBurst)
    ->ArgNames({"gso", "gro"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1})
    ->Args({1, 1});

}  // namespace
}  // namespace sockswitch::ports

BENCHMARK_MAIN();
