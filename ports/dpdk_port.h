// ports/dpdk_port.h: a port over a DPDK ethdev (a NIC bound to DPDK, or a vdev).
//
// Only built when pkg-config finds libdpdk (SOCKSWITCH_HAVE_DPDK), and the
// EAL only starts when such a port is configured (dpdk_eal.h).
//
// The device is named by DPDK devargs: a vdev ("net_af_packet0,iface=veth0",
// "net_tap0,iface=dtap0", "net_af_xdp0,iface=eth1") or a PCI address (with
// EalOptions::pci). The port hot-plugs it (rte_dev_probe), configures
// `queues` rx/tx queue pairs, enables promiscuous mode and starts it; the
// destructor stops, closes and removes it.
//
// Why copies: the poll thread's PacketPool is not an rte_mempool, so rx
// copies each mbuf into a pool packet and frees the mbuf at once, and tx
// copies each packet into an mbuf from the port's own mempool. Future work:
// one mempool per poll thread whose buffers are the PacketPool's, so that a
// Packet and an mbuf are the same memory.
//
// The poll thread is not an EAL lcore, so mempool allocations go straight
// to the shared ring (no per-lcore cache): correct from any thread, a little
// slower. wakeup_fd() is -1: vdevs have no rx interrupts, and the poll
// thread polls such a port on its timer.
//
// Link state and MTU come from the ethdev, re-read by refresh().
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "ports/dpdk_eal.h"
#include "ports/port.h"

struct rte_mempool;

namespace sockswitch::ports {

struct DpdkOptions final {
  std::string devargs{};  // what to probe; see above
  std::uint16_t queues = 1;
  std::uint16_t ring_size = 1024;  // rx and tx descriptors per queue
  std::uint32_t mbufs = 8191;      // the tx mempool (and the device's rx buffers)
  EalOptions eal{};                // used only if this port starts the EAL
};

class DpdkPort final : public Port {
 public:
  // Throws std::system_error naming the DPDK call (and rte_strerror) when
  // the EAL cannot start or the device cannot be probed/configured,
  // std::invalid_argument for bad options.
  DpdkPort(const std::string& name, DpdkOptions options);
  ~DpdkPort() override;

  [[nodiscard]] std::size_t rx_burst(std::uint16_t queue, packet::PacketPool& pool,
                                     std::span<packet::Packet*> out) noexcept override;
  void tx_burst(std::uint16_t queue, packet::PacketPool& pool,
                std::span<packet::Packet* const> packets) noexcept override;
  [[nodiscard]] int wakeup_fd(std::uint16_t) const noexcept override { return -1; }
  [[nodiscard]] std::uint16_t queue_count() const noexcept override { return options_.queues; }
  void refresh() override;
  [[nodiscard]] std::string engine() const override { return "dpdk"; }
  [[nodiscard]] LinkState link_state() const noexcept override {
    return link_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::uint32_t mtu() const noexcept override {
    return mtu_.load(std::memory_order_relaxed);
  }
  // Adds the device's own drop and error counters (rte_eth_stats).
  [[nodiscard]] PortCounters counters() const noexcept override;

  [[nodiscard]] std::uint16_t port_id() const noexcept { return port_id_; }

 private:
  void configure();
  void teardown() noexcept;

  DpdkOptions options_;
  std::string device_name_;  // devargs up to the first ','
  std::uint16_t port_id_ = 0;
  bool probed_ = false, started_ = false;
  rte_mempool* mempool_ = nullptr;
  std::atomic<LinkState> link_{LinkState::down};
  std::atomic<std::uint32_t> mtu_{0};
};

}  // namespace sockswitch::ports
