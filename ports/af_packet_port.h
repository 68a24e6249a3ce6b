// ports/af_packet_port.h: a port on an existing netdev through an AF_PACKET socket.
//
// The fallback when AF_XDP cannot attach. One socket bound to the device's
// ifindex, promiscuous membership, PACKET_QDISC_BYPASS (the switch is the
// scheduler; the qdisc would only add a lock and a queue) and
// PACKET_IGNORE_OUTGOING (our own transmissions must not come back as rx).
//
// rx: a TPACKET_V2 mmap ring. V2 rather than V3 because V3 hands frames
//   over in blocks that retire on a timer (milliseconds under light load,
//   which ping and TCP handshakes feel), while V2 hands over every frame as
//   it lands, with one status word per frame and no syscall per burst. The
//   ring is copied into pool packets (a copy the pool design makes
//   necessary either way) and each slot is returned to the kernel at once.
//   A VLAN tag the kernel stripped into metadata is put back into the frame.
// tx: sendmmsg(MSG_DONTWAIT), one syscall per burst. A TX ring saves little
//   here: packets must be copied out of the pool either way, and a TX ring
//   adds slot management and a send() kick per burst; sendmmsg reports
//   per-message failures, which we need to count drops and notice a device
//   that went away (ENXIO/ENODEV/ENETDOWN mark the port down).
//
// Offloads: a sender in the same host (a container's veth, by default)
// leaves checksums and segmentation to its device. The socket asks for the
// virtio-net header (PACKET_VNET_HDR) with every frame: a partial checksum
// is finished where the header says (exact, no guessing), and a GSO frame
// (up to 64 KiB, so the ring's slots on an Ethernet device hold one)
// is kept whole in one of the pool's large buffers, and leaves through
// another AF_PACKET port whole, with a header that says how to cut it (the
// receiving veth's stack takes it as the Linux bridge would hand it over);
// any other output gets it cut (dataplane/tx_batch.h). With no large buffer
// free it is cut here into MTU-sized frames with complete sums
// (dataplane/gso_segmenter.h); segments that do not fit a burst wait for the
// next. Nothing is asked of the peer.
//
// L3 mode: a device whose link type is not Ethernet (ARPHRD_NONE for tun and
// WireGuard, raw-IP, PPP, IP tunnels) carries bare IP packets; the port then
// runs them through L3Ethernet (synthesised header in, stripped header out,
// ARP/ND answered).
//
// Hotplug: a missing device at construction or after refresh() leaves the
// port down; refresh() re-attaches when a device of that name exists again.
//
// One queue. (Fanout groups across several sockets would give more; the
// poll-thread layer does not need them yet.)
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "ports/fd.h"
#include "ports/l3_ethernet.h"
#include "ports/port.h"

namespace sockswitch::ports {

struct AfPacketOptions final {
  std::optional<dataplane::MacAddr> l3_mac = std::nullopt;  // L3 mode only; default from the name
  std::uint32_t ring_frames = 1024;                         // rx ring slots (2 KiB each)
};

class AfPacketPort final : public Port {
 public:
  // Throws std::system_error (naming the syscall) when the socket cannot be
  // set up, std::invalid_argument for a bad name or unsupported link type.
  explicit AfPacketPort(const std::string& device, AfPacketOptions options = {});
  ~AfPacketPort() override;

  [[nodiscard]] std::size_t rx_burst(std::uint16_t queue, dataplane::PacketPool& pool,
                                     std::span<dataplane::Packet*> out) noexcept override;
  void tx_burst(std::uint16_t queue, dataplane::PacketPool& pool,
                std::span<dataplane::Packet* const> packets) noexcept override;
  [[nodiscard]] int wakeup_fd(std::uint16_t) const noexcept override { return sock_.get(); }
  void refresh() override;
  [[nodiscard]] LinkState link_state() const noexcept override {
    return link_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::string offload_handling() const override {
    return "virtio-net headers: partial checksums finished, GSO frames kept whole to AF_PACKET "
           "ports and cut for others";
  }
  [[nodiscard]] bool takes_gso() const noexcept override { return !l3_.has_value(); }
  [[nodiscard]] std::uint32_t mtu() const noexcept override {
    return mtu_.load(std::memory_order_relaxed);
  }
  // Adds the kernel's ring drops (PACKET_STATISTICS) to rx_dropped.
  [[nodiscard]] PortCounters counters() const noexcept override;

  [[nodiscard]] L3Neighbors* l3_neighbors() noexcept override {
    return l3_ ? &neighbors_ : nullptr;
  }

  [[nodiscard]] bool is_l3() const noexcept { return l3_.has_value(); }
  [[nodiscard]] std::string engine() const override {
    return is_l3() ? "af_packet L3" : "af_packet";
  }
  [[nodiscard]] int ifindex() const noexcept { return ifindex_; }
  // The L3 adapter, when in L3 mode (tests and `show` read its counters).
  [[nodiscard]] const L3Ethernet* l3() const noexcept { return l3_ ? &*l3_ : nullptr; }

 private:
  void open();
  void close() noexcept;
  void mark_gone() noexcept;
  [[nodiscard]] std::size_t receive(dataplane::PacketPool& pool,
                                    std::span<dataplane::Packet*> out) noexcept;
  [[nodiscard]] std::size_t take_segments(std::span<dataplane::Packet*> out) noexcept;
  [[nodiscard]] dataplane::Packet* keep_whole(std::span<const std::uint8_t> frame,
                                              dataplane::Segmentation how,
                                              dataplane::PacketPool& pool) noexcept;

  AfPacketOptions options_;
  Fd sock_;
  MappedRegion ring_;
  std::uint32_t frame_size_ = 0, frame_count_ = 0, rx_next_ = 0;
  int ifindex_ = 0;
  bool gone_ = false;      // the hot path saw the device disappear; refresh() reopens
  L3Neighbors neighbors_;  // L3 mode: kept across reopens, as the bridge's hosts stay
  std::optional<L3Ethernet> l3_;
  std::atomic<LinkState> link_{LinkState::down};
  std::atomic<std::uint32_t> mtu_{0};
  mutable std::atomic<std::uint64_t> kernel_drops_{0};
  // The segments of the last GSO frame not yet handed out (poll thread).
  std::array<dataplane::Packet*, 256> segments_{};
  std::size_t segments_held_ = 0, segments_next_ = 0;
  dataplane::PacketPool* segments_pool_ = nullptr;
};

}  // namespace sockswitch::ports
