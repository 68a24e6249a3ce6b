// ports/tun_port.h: an L3 port on a tun device the switch creates or attaches to.
//
// The device carries bare IP packets (IFF_TUN|IFF_NO_PI); the bridge sees an
// Ethernet port with its own MAC through L3Ethernet (see l3_ethernet.h):
// headers are synthesised on rx and stripped on tx, ARP and IPv6 ND are
// answered by the port. Each queue has its own adapter (its replies come
// back on the queue that was asked); all of them share one neighbour table,
// because the switch transmits on queue 0 while the device's packets arrive
// on every queue, and one poll thread serves every queue of a port.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ports/l3_ethernet.h"
#include "ports/port.h"
#include "ports/tun_device.h"

namespace sockswitch::ports {

struct TunOptions final {
  std::uint16_t queues = 1;
  bool create = true;
  std::optional<packet::MacAddr> mac = std::nullopt;  // default: derived from the name
};

class TunPort final : public Port {
 public:
  explicit TunPort(const std::string& device, TunOptions options = {});

  [[nodiscard]] std::size_t rx_burst(std::uint16_t queue, packet::PacketPool& pool,
                                     std::span<packet::Packet*> out) noexcept override;
  void tx_burst(std::uint16_t queue, packet::PacketPool& pool,
                std::span<packet::Packet* const> packets) noexcept override;
  [[nodiscard]] int wakeup_fd(std::uint16_t queue) const noexcept override {
    return dev_.fd(queue);
  }
  [[nodiscard]] std::uint16_t queue_count() const noexcept override { return dev_.queue_count(); }
  void refresh() override;
  [[nodiscard]] std::string engine() const override { return "tun"; }
  [[nodiscard]] std::vector<PortDrop> named_drops() override;
  [[nodiscard]] LinkState link_state() const noexcept override {
    return link_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint32_t mtu() const noexcept override { return dev_.mtu(); }

  [[nodiscard]] L3Neighbors* l3_neighbors() noexcept override { return &neighbors_; }

  [[nodiscard]] packet::MacAddr mac() const noexcept { return mac_; }
  [[nodiscard]] const L3Ethernet& l3(std::uint16_t queue) const noexcept {
    return *adapters_[queue % adapters_.size()];
  }

 private:
  packet::MacAddr mac_;
  TunDevice dev_;
  L3Neighbors neighbors_;
  std::vector<std::unique_ptr<L3Ethernet>> adapters_;  // one per queue
  std::atomic<LinkState> link_{LinkState::down};
};

}  // namespace sockswitch::ports
