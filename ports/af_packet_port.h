// ports/af_packet_port.h: a port on an existing netdev through an AF_PACKET socket.
//
// What `auto` takes for a veth or any device whose senders are on this host
// (it keeps their GSO frames whole), and the fallback when AF_XDP cannot
// attach. One socket bound to the device's
// ifindex, promiscuous membership, PACKET_QDISC_BYPASS (the switch is the
// scheduler; the qdisc would only add a lock and a queue) and
// PACKET_IGNORE_OUTGOING (our own transmissions must not come back as rx).
//
// rx: recvmmsg(MSG_DONTWAIT), one syscall per burst, straight into pool
//   packets: each message lands in an ordinary packet's buffer, and what
//   does not fit there (a GSO frame) runs on into a large packet (see
//   packet_pool.h), which then takes the ordinary one's head. One copy per
//   frame, the kernel's own. (A TPACKET_V2 ring copies twice, and slots
//   that hold a 64 KiB GSO frame made it megabytes of kernel memory per
//   port for a few dozen frames, too few for a burst of small ones; V3's
//   blocks hand frames over late, on a timer, which ping and TCP
//   handshakes feel.) The socket's receive buffer is the queue. A VLAN tag
//   the kernel stripped into metadata (PACKET_AUXDATA) is put back.
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
// (up to 64 KiB) is kept whole: it leaves through another AF_PACKET port
// whole, with a header that says how to cut it (the receiving veth's stack
// takes it as the Linux bridge would hand it over), and is cut for any
// other output (dataplane/tx_batch.h). Nothing is asked of the peer.
//
// The host's stack: frames reach the socket and would go on into the host's
// own stack as well; a HostStackFence (tcx ingress drop, run after the
// socket's copy) keeps them from it, as OVS's datapath and an XDP redirect
// do. `engine()` says when the kernel cannot take one.
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
#include "ports/host_stack_fence.h"
#include "ports/l3_ethernet.h"
#include "ports/port.h"
#include "ports/virtio_net_header.h"

namespace sockswitch::ports {

struct AfPacketOptions final {
  std::optional<packet::MacAddr> l3_mac = std::nullopt;  // L3 mode only; default from the name
};

class AfPacketPort final : public Port {
 public:
  // Throws std::system_error (naming the syscall) when the socket cannot be
  // set up, std::invalid_argument for a bad name or unsupported link type.
  explicit AfPacketPort(const std::string& device, AfPacketOptions options = {});
  ~AfPacketPort() override;

  [[nodiscard]] std::size_t rx_burst(std::uint16_t queue, packet::PacketPool& pool,
                                     std::span<packet::Packet*> out) noexcept override;
  void tx_burst(std::uint16_t queue, packet::PacketPool& pool,
                std::span<packet::Packet* const> packets) noexcept override;
  [[nodiscard]] int wakeup_fd(std::uint16_t) const noexcept override { return sock_.get(); }
  void refresh() override;
  [[nodiscard]] LinkState link_state() const noexcept override {
    return link_.load(std::memory_order_relaxed);
  }
  [[nodiscard]] std::string offload_handling() const override {
    return "virtio-net headers: partial checksums finished, GSO frames kept whole (cut for "
           "outputs that take none)";
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
  [[nodiscard]] std::string engine() const override;
  // An L3 port's adapter's (none for an Ethernet port).
  [[nodiscard]] std::vector<PortDrop> named_drops() override {
    if (!l3_) return {};
    const L3Ethernet* adapter = &*l3_;
    return L3Ethernet::named_drops(std::span(&adapter, 1));
  }
  [[nodiscard]] int ifindex() const noexcept { return ifindex_; }
  // The L3 adapter, when in L3 mode (tests and `show` read its counters).
  [[nodiscard]] const L3Ethernet* l3() const noexcept { return l3_ ? &*l3_ : nullptr; }

 private:
  void open();
  void close() noexcept;
  void mark_gone() noexcept;
  [[nodiscard]] std::size_t receive(packet::PacketPool& pool,
                                    std::span<packet::Packet*> out) noexcept;
  [[nodiscard]] bool accept(packet::Packet& p, const VirtioNetHeader& vnet, bool ran_on,
                            std::uint64_t& completed, std::uint64_t& kept_whole) noexcept;

  AfPacketOptions options_;
  Fd sock_;
  int ifindex_ = 0;
  bool gone_ = false;      // the hot path saw the device disappear; refresh() reopens
  L3Neighbors neighbors_;  // L3 mode: kept across reopens, as the bridge's hosts stay
  std::optional<L3Ethernet> l3_;
  std::optional<HostStackFence> fence_;
  std::string fence_error_;  // why there is no fence (control thread)
  std::atomic<LinkState> link_{LinkState::down};
  std::atomic<std::uint32_t> mtu_{0};
  mutable std::atomic<std::uint64_t> kernel_drops_{0};
};

}  // namespace sockswitch::ports
