// ports/tap_port.cc: burst rx/tx over the tap's queue fds, and re-attach on refresh.
#include "ports/tap_port.h"

namespace sockswitch::ports {

TapPort::TapPort(const std::string& device, TapOptions options) : Port(device), options_(options) {
  dev_ = TunDevice::open(device, {TunKind::tap, options_.queues, options_.create});
  link_.store(dev_.is_open() ? LinkState::up : LinkState::down, std::memory_order_relaxed);
}

void TapPort::refresh() {
  if (dev_.attached()) {
    link_.store(LinkState::up, std::memory_order_relaxed);
    return;
  }
  link_.store(LinkState::down, std::memory_order_relaxed);
  dev_ = {};
  // A device we created is re-created: the switch owns it. An attached one
  // comes back only when someone else re-creates it.
  dev_ = TunDevice::open(name(), {TunKind::tap, options_.queues, options_.create});
  if (dev_.is_open()) link_.store(LinkState::up, std::memory_order_relaxed);
}

std::size_t TapPort::rx_burst(std::uint16_t queue, dataplane::PacketPool& pool,
                              std::span<dataplane::Packet*> out) noexcept {
  if (link_.load(std::memory_order_relaxed) != LinkState::up) return 0;
  std::size_t n = 0;
  if (dev_.read_burst(queue, pool, out, n, queue_counters(queue)) == TunDevice::IoStatus::gone)
    link_.store(LinkState::down, std::memory_order_relaxed);
  return n;
}

void TapPort::tx_burst(std::uint16_t queue, dataplane::PacketPool& pool,
                       std::span<dataplane::Packet* const> packets) noexcept {
  PortCounterCell& cnt = queue_counters(queue);
  std::uint64_t sent = 0, bytes = 0, dropped = 0, errors = 0;
  bool up = link_.load(std::memory_order_relaxed) == LinkState::up;
  for (dataplane::Packet* p : packets) {
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
    pool.free(p);
  }
  PortCounterCell::add(cnt.tx_packets, sent);
  PortCounterCell::add(cnt.tx_bytes, bytes);
  if (dropped) PortCounterCell::add(cnt.tx_dropped, dropped);
  if (errors) PortCounterCell::add(cnt.tx_errors, errors);
}

}  // namespace sockswitch::ports
