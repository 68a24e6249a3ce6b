// ports/tap_port.cc: burst rx/tx over the tap's queue fds, and re-attach on refresh.
#include "ports/tap_port.h"

namespace sockswitch::ports {

TapPort::TapPort(const std::string& device, TapOptions options)
    : Port(device), dev_(TunDevice::open(device, {TunKind::tap, options.queues, options.create})) {
  link_.store(dev_.is_open() ? LinkState::up : LinkState::down, std::memory_order_relaxed);
}

void TapPort::refresh() {
  link_.store(LinkState::down, std::memory_order_relaxed);  // and so it stays if reopening throws
  if (dev_.reopen_if_gone()) link_.store(LinkState::up, std::memory_order_relaxed);
}

std::size_t TapPort::rx_burst(std::uint16_t queue, packet::PacketPool& pool,
                              std::span<packet::Packet*> out) noexcept {
  if (link_.load(std::memory_order_relaxed) != LinkState::up) return 0;
  std::size_t n = 0;
  if (dev_.read_burst(queue, pool, out, n, queue_counters(queue)) == TunDevice::IoStatus::gone)
    link_.store(LinkState::down, std::memory_order_relaxed);
  return n;
}

void TapPort::tx_burst(std::uint16_t queue, packet::PacketPool& pool,
                       std::span<packet::Packet* const> packets) noexcept {
  const bool up = link_.load(std::memory_order_relaxed) == LinkState::up;
  TunDevice::TxTally tally;
  tally.gone = !up;
  for (packet::Packet* p : packets) {
    dev_.write(queue, *p, tally);
    pool.free(p);
  }
  if (up && tally.gone) link_.store(LinkState::down, std::memory_order_relaxed);
  tally.add_to(queue_counters(queue));
}

}  // namespace sockswitch::ports
