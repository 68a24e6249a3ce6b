// ports/ring_port.cc: burst copies between rings and the poll thread's pool.
#include "ports/ring_port.h"

namespace sockswitch::ports {

RingPort::RingPort(std::string name, std::uint32_t depth)
    : RingPort(std::move(name), std::make_shared<FrameRing>(depth),
               std::make_shared<FrameRing>(depth)) {}

RingPort::RingPort(std::string name, std::shared_ptr<FrameRing> rx, std::shared_ptr<FrameRing> tx)
    : Port(std::move(name)), rx_(std::move(rx)), tx_(std::move(tx)) {}

std::pair<std::unique_ptr<RingPort>, std::unique_ptr<RingPort>> RingPort::make_patch_pair(
    std::string a, std::string b, std::uint32_t depth) {
  auto a_to_b = std::make_shared<FrameRing>(depth);
  auto b_to_a = std::make_shared<FrameRing>(depth);
  return {std::unique_ptr<RingPort>(new RingPort(std::move(a), b_to_a, a_to_b)),
          std::unique_ptr<RingPort>(new RingPort(std::move(b), a_to_b, b_to_a))};
}

std::optional<std::vector<std::uint8_t>> RingPort::take() {
  const std::span<const std::uint8_t> f = tx_->front();
  if (f.empty()) return std::nullopt;
  std::vector<std::uint8_t> frame(f.begin(), f.end());
  tx_->pop();
  return frame;
}

std::size_t RingPort::discard() noexcept {
  std::size_t n = 0;
  while (!tx_->front().empty()) {
    tx_->pop();
    ++n;
  }
  return n;
}

std::size_t RingPort::rx_burst(std::uint16_t queue, dataplane::PacketPool& pool,
                               std::span<dataplane::Packet*> out) noexcept {
  PortCounterCell& c = queue_counters(queue);
  if (link_state() == LinkState::down) return 0;
  std::size_t n = 0;
  std::uint64_t bytes = 0;
  while (n < out.size()) {
    const std::span<const std::uint8_t> f = rx_->front();
    if (f.empty()) {
      if (n == 0 && rx_->rearm()) continue;
      break;
    }
    dataplane::Packet* p = pool.alloc();
    if (p == nullptr) {
      PortCounterCell::add(c.rx_dropped, 1);
      rx_->pop();
      continue;
    }
    std::uint8_t* dst = p->append(static_cast<std::uint32_t>(f.size()));
    if (dst == nullptr) {
      pool.free(p);
      PortCounterCell::add(c.rx_errors, 1);
      rx_->pop();
      continue;
    }
    std::memcpy(dst, f.data(), f.size());
    rx_->pop();
    bytes += f.size();
    out[n++] = p;
  }
  if (n) {
    PortCounterCell::add(c.rx_packets, n);
    PortCounterCell::add(c.rx_bytes, bytes);
  }
  return n;
}

void RingPort::tx_burst(std::uint16_t queue, dataplane::PacketPool& pool,
                        std::span<dataplane::Packet* const> packets) noexcept {
  PortCounterCell& c = queue_counters(queue);
  std::uint64_t sent = 0, bytes = 0, dropped = 0;
  const bool up = link_state() == LinkState::up;
  for (dataplane::Packet* p : packets) {
    if (up && tx_->push(p->bytes())) {
      ++sent;
      bytes += p->length();
    } else {
      ++dropped;
    }
  }
  pool.free_burst(packets);
  if (sent) {
    PortCounterCell::add(c.tx_packets, sent);
    PortCounterCell::add(c.tx_bytes, bytes);
  }
  if (dropped) PortCounterCell::add(c.tx_dropped, dropped);
}

}  // namespace sockswitch::ports
