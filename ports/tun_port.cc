// ports/tun_port.cc: tun queue I/O through the per-queue L3 adapters.
#include "ports/tun_port.h"

namespace sockswitch::ports {

TunPort::TunPort(const std::string& device, TunOptions options)
    : Port(device),
      options_(options),
      mac_(options.mac.value_or(L3Ethernet::mac_for_name(device))) {
  dev_ = TunDevice::open(device, {TunKind::tun, options_.queues, options_.create});
  for (std::uint16_t q = 0; q < options_.queues; ++q)
    adapters_.push_back(std::make_unique<L3Ethernet>(mac_));
  link_.store(dev_.is_open() ? LinkState::up : LinkState::down, std::memory_order_relaxed);
}

void TunPort::refresh() {
  if (dev_.attached()) {
    link_.store(LinkState::up, std::memory_order_relaxed);
    return;
  }
  link_.store(LinkState::down, std::memory_order_relaxed);
  dev_ = {};
  dev_ = TunDevice::open(name(), {TunKind::tun, options_.queues, options_.create});
  if (dev_.is_open()) link_.store(LinkState::up, std::memory_order_relaxed);
}

std::size_t TunPort::rx_burst(std::uint16_t queue, dataplane::PacketPool& pool,
                              std::span<dataplane::Packet*> out) noexcept {
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

void TunPort::tx_burst(std::uint16_t queue, dataplane::PacketPool& pool,
                       std::span<dataplane::Packet* const> packets) noexcept {
  L3Ethernet& l3 = *adapters_[queue % adapters_.size()];
  PortCounterCell& cnt = queue_counters(queue);
  std::uint64_t sent = 0, bytes = 0, dropped = 0, errors = 0;
  bool up = link_.load(std::memory_order_relaxed) == LinkState::up;
  for (dataplane::Packet* p : packets) {
    // ARP/ND are answered even while the device is down: the answers are
    // about addressing, and the bridge's caches stay warm for its return.
    const L3Ethernet::TxAction a = l3.to_device(*p);
    if (a == L3Ethernet::TxAction::send) {
      const auto r = up ? dev_.write(queue, *p) : TunDevice::WriteResult::gone;
      if (r == TunDevice::WriteResult::sent) {
        ++sent;
        bytes += p->length();
      } else if (r == TunDevice::WriteResult::bad) {
        ++errors;
      } else {
        ++dropped;
        if (r == TunDevice::WriteResult::gone && up) {
          up = false;
          link_.store(LinkState::down, std::memory_order_relaxed);
        }
      }
    } else if (a == L3Ethernet::TxAction::drop) {
      ++dropped;
    }
    pool.free(p);
  }
  PortCounterCell::add(cnt.tx_packets, sent);
  PortCounterCell::add(cnt.tx_bytes, bytes);
  if (dropped) PortCounterCell::add(cnt.tx_dropped, dropped);
  if (errors) PortCounterCell::add(cnt.tx_errors, errors);
}

}  // namespace sockswitch::ports
