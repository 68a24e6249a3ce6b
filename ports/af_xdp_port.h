// ports/af_xdp_port.h: a port on an existing netdev through AF_XDP sockets, one per rx queue.
//
// The default engine (DESIGN.md): the port loads its own XDP program
// (xsk_redirect_program.h) in native mode where the driver has XDP and in
// generic mode otherwise, and binds one XskQueue (xsk_queue.h: socket in
// copy mode with need_wakeup, over the poll thread's packet pool as UMEM) per
// rx channel of the device, so that no queue's traffic slips past the switch
// into the host stack.
//
// The pool: every AF_XDP port served by one poll thread is built with that
// thread's PacketPool, so a frame received on one is transmitted on another
// from the same buffer, with no copy in user space. rx_burst/tx_burst check
// that the caller passes that pool (one compare per burst) and refuse, with
// rx/tx errors counted, a pool that is not it. Kernel zero-copy (XDP_ZEROCOPY)
// is not asked for: veth and tun refuse it.
//
// Queues: every rx channel the device reports (ETHTOOL_GCHANNELS; 1 when
// the driver has no channel API), at most Port::kMaxQueues. An explicit
// count is checked against the device: asking for a queue the device lacks,
// or for fewer than it has, or a device with more than kMaxQueues, is an
// error (`auto` then takes AF_PACKET), never a port that misses frames or
// lets some pass to the host stack around the switch.
//
// Failure: anything that keeps AF_XDP from attaching (no XDP support,
// another XDP program on the device, no memory for the UMEM) throws
// std::system_error naming the call; the factory's "auto" driver then falls
// back to AF_PACKET and logs why.
//
// Hotplug: like AfPacketPort. A missing device leaves the port down, and
// refresh() attaches when a device of that name exists again (or re-attaches
// to a new device with the same name). Teardown detaches the program only
// if it is still ours.
//
// Offloads: as with AF_PACKET, a same-host sender (veth) must have tx
// offloads off, or GSO frames larger than a frame are dropped by XDP.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ports/port.h"
#include "ports/xsk_queue.h"
#include "ports/xsk_redirect_program.h"

namespace sockswitch::ports {

struct AfXdpOptions final {
  std::shared_ptr<packet::PacketPool> pool;  // the serving poll thread's; required
  std::uint16_t queues = 0;                  // 0: every rx channel of the device
  // Per ring; also the pool packets each fill ring holds. Deep enough to
  // ride out a poll thread descheduled for ~15 ms at 0.1 Mpps: 512 lost
  // frames at rates the harness ran at < 0.1 % loss with 2048.
  std::uint32_t ring_size = 2048;
  bool generic_only = false;  // skip native mode (tests, or a buggy driver)
};

class AfXdpPort final : public Port {
 public:
  // Throws std::system_error (naming the call) when AF_XDP cannot attach,
  // std::invalid_argument for a bad name or options (no pool among them).
  explicit AfXdpPort(const std::string& device, AfXdpOptions options = {});
  ~AfXdpPort() override;

  [[nodiscard]] std::size_t rx_burst(std::uint16_t queue, packet::PacketPool& pool,
                                     std::span<packet::Packet*> out) noexcept override;
  void tx_burst(std::uint16_t queue, packet::PacketPool& pool,
                std::span<packet::Packet* const> packets) noexcept override;
  [[nodiscard]] int wakeup_fd(std::uint16_t queue) const noexcept override;
  [[nodiscard]] std::uint16_t queue_count() const noexcept override;
  void refresh() override;
  [[nodiscard]] LinkState link_state() const noexcept override {
    return link_.load(std::memory_order_relaxed);
  }
  // AF_XDP carries no checksum metadata, and the XDP program on a veth makes
  // the kernel turn its peer's segmentation offload off (veth_fix_features).
  [[nodiscard]] std::string offload_handling() const override {
    if (xdp_mode() == XdpMode::generic)
      return "partial checksums finished in software; generic XDP cannot take GSO frames "
             "(driver auto uses af_packet here)";
    return "partial checksums found and finished in software; a veth peer sends no GSO "
           "while the XDP program is attached";
  }
  [[nodiscard]] std::uint32_t mtu() const noexcept override {
    return mtu_.load(std::memory_order_relaxed);
  }
  // True once every queue's fill ring has buffers (or the link is down).
  [[nodiscard]] bool ready() const noexcept override;
  // Adds the kernel's per-socket drops (XDP_STATISTICS) to rx_dropped.
  [[nodiscard]] PortCounters counters() const noexcept override;

  [[nodiscard]] int ifindex() const noexcept { return ifindex_; }
  // Pool packets the kernel holds for this port now (all queues); read it
  // on the poll thread or while it is stopped.
  [[nodiscard]] std::uint32_t lent_packets() const noexcept;
  // nullopt while down without a device.
  [[nodiscard]] std::optional<XdpMode> xdp_mode() const noexcept;
  [[nodiscard]] std::string engine() const override {
    const auto mode = xdp_mode();
    return !mode ? "af_xdp" : *mode == XdpMode::native ? "af_xdp native" : "af_xdp generic";
  }

 private:
  void open();
  void close() noexcept;
  void mark_gone() noexcept;

  AfXdpOptions options_;
  // Declared before the queues so that the sockets go first on teardown.
  std::unique_ptr<XskRedirectProgram> program_;
  std::vector<std::unique_ptr<XskQueue>> queues_;
  std::uint16_t queue_count_ = 1;  // kept across a vanished device
  int ifindex_ = 0;
  bool gone_ = false;  // the hot path saw the device disappear; refresh() reopens
  std::atomic<LinkState> link_{LinkState::down};
  std::atomic<std::uint32_t> mtu_{0};
  XskStatistics retired_;  // statistics of sockets already closed
};

}  // namespace sockswitch::ports
