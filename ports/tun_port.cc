// ports/tun_port.cc: tun queue I/O through the per-queue L3 adapters.
#include "ports/tun_port.h"

namespace sockswitch::ports {

TunPort::TunPort(const std::string& device, TunOptions options)
    : Port(device),
      mac_(options.mac.value_or(L3Ethernet::mac_for_name(device))),
      dev_(TunDevice::open(device, {TunKind::tun, options.queues, options.create})) {
  for (std::uint16_t q = 0; q < options.queues; ++q)
    adapters_.push_back(std::make_unique<L3Ethernet>(mac_, neighbors_));
  link_.store(dev_.is_open() ? LinkState::up : LinkState::down, std::memory_order_relaxed);
}

void TunPort::refresh() {
  link_.store(LinkState::down, std::memory_order_relaxed);  // and so it stays if reopening throws
  if (dev_.reopen_if_gone()) link_.store(LinkState::up, std::memory_order_relaxed);
}

std::size_t TunPort::rx_burst(std::uint16_t queue, packet::PacketPool& pool,
                              std::span<packet::Packet*> out) noexcept {
  L3Ethernet& l3 = *adapters_[queue % adapters_.size()];
  std::size_t n = l3.take_replies(pool, out);
  if (link_.load(std::memory_order_relaxed) != LinkState::up || n == out.size()) return n;
  std::size_t got = 0;
  PortCounterCell& cnt = queue_counters(queue);
  const auto rest = out.subspan(n);
  if (dev_.read_burst(queue, pool, rest, got, cnt) == TunDevice::IoStatus::gone)
    link_.store(LinkState::down, std::memory_order_relaxed);
  std::uint64_t bad = 0;
  for (std::size_t i = 0; i < got; ++i) {
    if (l3.to_bridge(*rest[i])) {
      out[n++] = rest[i];
    } else {
      ++bad;
      pool.free(rest[i]);
    }
  }
  if (bad) PortCounterCell::add(cnt.rx_errors, bad);
  return n;
}

void TunPort::tx_burst(std::uint16_t queue, packet::PacketPool& pool,
                       std::span<packet::Packet* const> packets) noexcept {
  L3Ethernet& l3 = *adapters_[queue % adapters_.size()];
  const bool up = link_.load(std::memory_order_relaxed) == LinkState::up;
  TunDevice::TxTally tally;
  tally.gone = !up;
  for (packet::Packet* p : packets) {
    // ARP/ND are answered even while the device is down: the answers are
    // about addressing, and the bridge's caches stay warm for its return.
    const L3Ethernet::TxAction a = l3.to_device(*p);
    if (a == L3Ethernet::TxAction::send)
      dev_.write(queue, *p, tally);
    else if (a == L3Ethernet::TxAction::drop)
      ++tally.dropped;
    pool.free(p);
  }
  if (up && tally.gone) link_.store(LinkState::down, std::memory_order_relaxed);
  tally.add_to(queue_counters(queue));
}

std::vector<PortDrop> TunPort::named_drops() {
  std::vector<const L3Ethernet*> adapters;
  for (const auto& a : adapters_)
    adapters.push_back(a.get());
  return L3Ethernet::named_drops(adapters);
}

}  // namespace sockswitch::ports
