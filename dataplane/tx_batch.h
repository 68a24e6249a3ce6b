// dataplane/tx_batch.h: per-output-port transmit buffers of one poll thread.
//
// Decide first, send second (DPDK l3fwd): packets bound for a port collect
// here and go out as one tx_burst when the buffer is full or when the thread
// finishes a receive burst, so each port costs one virtual call per burst.
// Sized at construction for every (bridge, port slot) pair; never grows.
//
// GSO super-frames (packet.h) are cut here, at the last moment, for a port
// that does not take them whole: the one place every output passes, so a
// super-frame reaches no driver that would send it as one oversized frame.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <utility>

#include "dataplane/bridge.h"
#include "packet/burst.h"

namespace sockswitch::dataplane {

class TxBatch final {
 public:
  static constexpr std::size_t kMaxBridges = 8;
  static constexpr std::size_t kMaxPortsPerBridge = 256;

  explicit TxBatch(packet::PacketPool& pool)
      : pool_(pool), buffers_(std::make_unique<Buffer[]>(kMaxBridges * kMaxPortsPerBridge)) {}

  // Queues `p` for `port` (slot `slot` of bridge `bridge`). A packet for a
  // slot beyond the bounds is freed unsent and counted (take_unsent): none
  // comes, since the control plane refuses a ninth bridge and a 257th port.
  void enqueue(std::uint8_t bridge, std::int16_t slot, const BridgePort& port,
               packet::Packet* p) noexcept {
    if (bridge >= kMaxBridges || slot < 0 || std::size_t(slot) >= kMaxPortsPerBridge) {
      pool_.free(p);
      ++unsent_;
      return;
    }
    const std::size_t at = bridge * kMaxPortsPerBridge + std::size_t(slot);
    Buffer& b = buffers_[at];
    if (b.count == 0) {
      if (dirty_count_ == dirty_.size()) flush();
      b.port = port.port;
      b.queue = port.tx_queue;
      dirty_[dirty_count_++] = static_cast<std::uint16_t>(at);
    }
    b.has_gso |= p->is_gso();
    b.packets[b.count++] = p;
    if (b.count == packet::kBurstSize) send(b);
  }

  // Packets freed unsent since the last call (the caller counts them).
  [[nodiscard]] std::uint64_t take_unsent() noexcept { return std::exchange(unsent_, 0); }

  // Sends everything queued. Call after every receive burst.
  void flush() noexcept {
    for (std::size_t i = 0; i < dirty_count_; ++i) {
      Buffer& b = buffers_[dirty_[i]];
      if (b.count) send(b);
    }
    dirty_count_ = 0;
  }

 private:
  struct Buffer {
    ports::Port* port = nullptr;
    std::uint16_t queue = 0;
    std::uint16_t count = 0;
    bool has_gso = false;
    std::array<packet::Packet*, packet::kBurstSize> packets{};
  };

  void send(Buffer& b) noexcept {
    if (ports::PortCapture* c = b.port->capture()) [[unlikely]]
      c->record(ports::CaptureDirection::tx,
                std::span<packet::Packet* const>(b.packets.data(), b.count));
    if (b.has_gso && !b.port->takes_gso()) [[unlikely]]
      cut_and_send(b);
    else
      b.port->tx_burst(b.queue, pool_, std::span<packet::Packet* const>(b.packets.data(), b.count));
    b.count = 0;
    b.has_gso = false;
  }
  // Sends b's packets with every super-frame among them cut into segments.
  void cut_and_send(Buffer& b) noexcept;

  packet::PacketPool& pool_;
  std::unique_ptr<Buffer[]> buffers_;
  // Buffers that received a packet since the last flush, listed each time
  // their count leaves 0 (so a buffer that filled and refilled is listed
  // twice; flush() skips empty ones).
  std::array<std::uint16_t, kMaxBridges * kMaxPortsPerBridge> dirty_{};
  std::size_t dirty_count_ = 0;
  std::uint64_t unsent_ = 0;
};

}  // namespace sockswitch::dataplane
