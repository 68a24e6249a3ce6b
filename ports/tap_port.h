// ports/tap_port.h: an L2 port on a tap device the switch creates or attaches to.
//
// Frames are Ethernet both ways, so this is the TunDevice I/O loops and the
// counters, nothing more. Link state is "the device exists and our queues
// are attached to it"; the tap's own carrier follows exactly that. The
// device may be moved into another namespace after creation (tests do): the
// queue fds keep working there.
#pragma once

#include <atomic>
#include <string>

#include "ports/port.h"
#include "ports/tun_device.h"

namespace sockswitch::ports {

struct TapOptions final {
  std::uint16_t queues = 1;
  bool create = true;  // false: attach to an existing persistent tap
};

class TapPort final : public Port {
 public:
  explicit TapPort(const std::string& device, TapOptions options = {});

  [[nodiscard]] std::size_t rx_burst(std::uint16_t queue, packet::PacketPool& pool,
                                     std::span<packet::Packet*> out) noexcept override;
  void tx_burst(std::uint16_t queue, packet::PacketPool& pool,
                std::span<packet::Packet* const> packets) noexcept override;
  [[nodiscard]] int wakeup_fd(std::uint16_t queue) const noexcept override {
    return dev_.fd(queue);
  }
  [[nodiscard]] std::uint16_t queue_count() const noexcept override { return dev_.queue_count(); }
  void refresh() override;
  [[nodiscard]] LinkState link_state() const noexcept override {
    return link_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint32_t mtu() const noexcept override { return dev_.mtu(); }

 private:
  TunDevice dev_;
  std::atomic<LinkState> link_{LinkState::down};
};

}  // namespace sockswitch::ports
