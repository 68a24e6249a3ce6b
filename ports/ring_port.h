// ports/ring_port.h: an in-memory port over two FrameRings.
//
// The switch side is the Port interface; the far side is whoever holds the
// rings: a test or benchmark (inject()/take() on a standalone RingPort), or
// another RingPort (a patch pair: each one's transmit ring is the other's
// receive ring, the seeds' to-privacy/from-mesh link between two bridges of
// one switch, which never leaves the process).
#pragma once

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "ports/frame_ring.h"
#include "ports/port.h"

namespace sockswitch::ports {

class RingPort final : public Port {
 public:
  static constexpr std::uint32_t kDefaultDepth = 1024;

  explicit RingPort(std::string name, std::uint32_t depth = kDefaultDepth);

  // Two ports joined back to back.
  static std::pair<std::unique_ptr<RingPort>, std::unique_ptr<RingPort>> make_patch_pair(
      std::string a, std::string b, std::uint32_t depth = kDefaultDepth);

  // Far side (one thread): queue a frame towards the switch; false when full.
  [[nodiscard]] bool inject(std::span<const std::uint8_t> frame) noexcept {
    return rx_->push(frame);
  }
  // Far side (one thread): the next frame the switch sent, if any.
  [[nodiscard]] std::optional<std::vector<std::uint8_t>> take();
  // Far side: drops every frame the switch sent; returns how many.
  std::size_t discard() noexcept;

  void set_link(LinkState s) noexcept { link_.store(s, std::memory_order_relaxed); }

  [[nodiscard]] std::size_t rx_burst(std::uint16_t queue, packet::PacketPool& pool,
                                     std::span<packet::Packet*> out) noexcept override;
  void tx_burst(std::uint16_t queue, packet::PacketPool& pool,
                std::span<packet::Packet* const> packets) noexcept override;
  [[nodiscard]] int wakeup_fd(std::uint16_t) const noexcept override { return rx_->wakeup_fd(); }
  [[nodiscard]] LinkState link_state() const noexcept override {
    return link_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint32_t mtu() const noexcept override { return 1500; }

 private:
  RingPort(std::string name, std::shared_ptr<FrameRing> rx, std::shared_ptr<FrameRing> tx);

  std::shared_ptr<FrameRing> rx_;  // towards the switch
  std::shared_ptr<FrameRing> tx_;  // from the switch
  std::atomic<LinkState> link_{LinkState::up};
};

}  // namespace sockswitch::ports
