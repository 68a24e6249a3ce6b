// ports/ring_port.cc: burst copies between rings and the poll thread's pool.
#include "ports/ring_port.h"

#include "packet/frame_copy.h"

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
  const std::size_t n = tx_->available();
  tx_->release(n);
  return n;
}

std::size_t RingPort::rx_burst(std::uint16_t queue, packet::PacketPool& pool,
                               std::span<packet::Packet*> out) noexcept {
  PortCounterCell& c = queue_counters(queue);
  if (link_state() == LinkState::down) return 0;
  std::size_t ready = rx_->available();
  if (ready == 0) {
    if (!rx_->rearm()) return 0;
    ready = rx_->available();
  }
  const std::size_t take = ready < out.size() ? ready : out.size();
  // Frames beyond what the pool can give are dropped, as a NIC drops when
  // its rx descriptors run out.
  const std::size_t got = pool.alloc_burst(out.first(take));
  std::size_t n = 0;
  std::uint64_t bytes = 0, errors = 0;
  for (std::size_t i = 0; i < got; ++i) {
    const std::span<const std::uint8_t> f = rx_->peek(i);
    packet::Packet* p = out[i];
    std::uint8_t* dst = p->append(static_cast<std::uint32_t>(f.size()));
    if (dst == nullptr) {
      pool.free(p);
      ++errors;
      continue;
    }
    packet::copy_frame_bytes(dst, f.data(), f.size());
    bytes += f.size();
    out[n++] = p;
  }
  rx_->release(take);
  if (n) {
    PortCounterCell::add(c.rx_packets, n);
    PortCounterCell::add(c.rx_bytes, bytes);
  }
  if (errors) PortCounterCell::add(c.rx_errors, errors);
  if (take != got) PortCounterCell::add(c.rx_dropped, take - got);
  return n;
}

void RingPort::tx_burst(std::uint16_t queue, packet::PacketPool& pool,
                        std::span<packet::Packet* const> packets) noexcept {
  PortCounterCell& c = queue_counters(queue);
  std::uint64_t sent = 0, bytes = 0;
  if (link_state() == LinkState::up) {
    const std::size_t room = tx_->reserve(packets.size());
    for (packet::Packet* p : packets) {
      if (sent == room) break;
      if (p->length() > FrameRing::kSlotSize) continue;  // counted as a drop below
      packet::copy_frame_bytes(tx_->slot(sent), p->data(), p->length());
      tx_->set_length(sent, p->length());
      ++sent;
      bytes += p->length();
    }
    tx_->publish(sent);
  }
  const std::uint64_t dropped = packets.size() - sent;
  pool.free_burst(packets);
  if (sent) {
    PortCounterCell::add(c.tx_packets, sent);
    PortCounterCell::add(c.tx_bytes, bytes);
  }
  if (dropped) PortCounterCell::add(c.tx_dropped, dropped);
}

}  // namespace sockswitch::ports
