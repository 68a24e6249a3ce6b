// ports/l3_ethernet.h: makes a bare-IP device look like an Ethernet port on the bridge.
//
// tun devices, WireGuard and anything else without a link header (AF_PACKET
// link type ARPHRD_NONE) carry IP packets, while inside a bridge every packet
// is an Ethernet frame. This adapter sits between such a device and the
// bridge, shared by TunPort and the L3 mode of AfPacketPort:
//
//   device -> bridge (to_bridge): push a 14-byte header into the headroom.
//     src = the port's own MAC (locally administered); dst = the MAC that
//     NeighborSnoop learned for the destination IP, the IPv4/IPv6 multicast
//     MAC for a multicast destination, else broadcast (the bridge floods it
//     and the owner answers, after which it is learned).
//   bridge -> device (to_device): learn sender IP/MAC, then
//     * IPv4/IPv6: strip the header (and any 802.1Q/802.1ad tags: a device
//       without a link layer has no VLANs, so a tagged frame sent here by a
//       flow means "deliver the IP packet"), trim Ethernet padding, send.
//     * ARP request: answered by the port in the manner of a proxy-ARP router
//       for the addresses that lie behind the device (neighbor_claims.h),
//       except (a) one learned as living on the bridge side (it would steal
//       a neighbour's address), (b) a gratuitous ARP or probe (sender IP 0
//       or equal to the target: those check for duplicates and must stay
//       unanswered). Requests for anything else are consumed unanswered.
//     * IPv6 Neighbor Solicitation: same rule (DAD, i.e. source ::, is never
//       answered); the Neighbor Advertisement has S=1, O=1 (this port is the
//       only way to the target, so it may override), R=0, and a target
//       link-layer address option.
//     * other ND messages, ARP replies, tagged ARP/ND and every other
//       EtherType are consumed without reaching the device (ND/ARP: learned
//       from; others: counted as non_ip).
//   Replies are written into a small fixed queue inside the adapter and
//   delivered on the port's next rx_burst as if received from the device.
//   The queue does not own pool packets, so nothing leaks when a port is
//   destroyed with replies pending. A full queue drops the reply (counted).
//
// Contract with the poll thread: a reply queued by tx_burst reaches the
// bridge on the next rx_burst of the same queue, so the poll thread must not
// sleep after a pass in which it transmitted (the adaptive-poll rule "sleep
// only after a pass that received nothing" already guarantees it, since a
// transmit follows a receive).
//
// Threads: one adapter per port queue, used only by that queue's poll thread;
// the queues of a port share its L3Neighbors (one poll thread serves them all).
// The counters are relaxed atomics with one writer, readable from anywhere.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "packet/mac_addr.h"
#include "packet/packet.h"
#include "packet/packet_pool.h"
#include "packet/single_writer_counter.h"
#include "ports/neighbor_claims.h"
#include "ports/neighbor_snoop.h"
#include "ports/port.h"

namespace sockswitch::ports {

struct L3EthernetCounters final {
  std::uint64_t arp_replies = 0, nd_replies = 0;  // answers generated
  std::uint64_t replies_dropped = 0;              // answers lost to a full queue
  std::uint64_t consumed = 0;                     // ARP/ND frames learned from, not answered
  std::uint64_t not_behind = 0;                   // of those: requests for what is not behind us
  std::uint64_t non_ip = 0;                       // bridge frames the device cannot carry
  std::uint64_t rx_not_ip = 0;                    // device packets that were neither IPv4 nor IPv6
};

class L3Ethernet final {
 public:
  enum class TxAction : std::uint8_t {
    send,      // the packet now holds a bare IP packet for the device
    consumed,  // ARP/ND handled here (maybe answered): free it, not a drop
    drop,      // not carriable: free it and count a tx drop
  };

  static constexpr std::size_t kReplyQueue = 16;
  static constexpr std::size_t kMaxReply = 96;  // an NA with its option is 86 bytes

  // `neighbors` is the port's, shared by its queues; it outlives the adapter.
  L3Ethernet(packet::MacAddr mac, L3Neighbors& neighbors) noexcept
      : mac_(mac), neighbors_(neighbors) {}

  // A locally administered unicast MAC derived from a port name, stable
  // across restarts so that neighbours' ARP caches stay valid.
  [[nodiscard]] static packet::MacAddr mac_for_name(std::string_view name) noexcept;

  [[nodiscard]] packet::MacAddr mac() const noexcept { return mac_; }

  // Device -> bridge; false when `p` is not an IP packet or lacks headroom
  // (the caller frees and counts it).
  [[nodiscard]] bool to_bridge(packet::Packet& p) noexcept;
  // Bridge -> device; see TxAction.
  [[nodiscard]] TxAction to_device(packet::Packet& p) noexcept;

  // Copies queued replies into packets from `pool` (fewer when it is empty,
  // the rest stay queued); returns how many were written to `out`.
  [[nodiscard]] std::size_t take_replies(packet::PacketPool& pool,
                                         std::span<packet::Packet*> out) noexcept;
  [[nodiscard]] std::size_t pending_replies() const noexcept { return tail_ - head_; }

  [[nodiscard]] const NeighborSnoop& neighbors() const noexcept { return neighbors_.snoop; }
  [[nodiscard]] L3EthernetCounters counters() const noexcept;
  // The counters as named drops (ports/port.h), summed over `adapters`
  // (a multi-queue port has one per queue).
  [[nodiscard]] static std::vector<PortDrop> named_drops(
      std::span<const L3Ethernet* const> adapters);

 private:
  struct Reply {
    std::array<std::uint8_t, kMaxReply> bytes;
    std::uint32_t length;
  };

  TxAction handle_arp(const std::uint8_t* arp, std::size_t len, const std::uint8_t* eth) noexcept;
  TxAction handle_nd(packet::Packet& p, std::size_t l3) noexcept;
  [[nodiscard]] Reply* reserve_reply() noexcept;
  [[nodiscard]] bool answerable(const IpKey& target) noexcept {
    const NeighborClaims* claims = neighbors_.claims.get();
    if (claims == nullptr || !claims->claims(target)) {
      bump(not_behind_);
      return false;
    }
    return !neighbors_.snoop.lookup(target).has_value();
  }
  static void bump(std::atomic<std::uint64_t>& c) noexcept { packet::single_writer_add(c); }

  packet::MacAddr mac_;
  L3Neighbors& neighbors_;
  std::array<Reply, kReplyQueue> replies_{};
  std::size_t head_ = 0, tail_ = 0;  // free-running; slot = index % kReplyQueue
  std::atomic<std::uint64_t> arp_replies_{0}, nd_replies_{0}, replies_dropped_{0};
  std::atomic<std::uint64_t> consumed_{0}, not_behind_{0}, non_ip_{0}, rx_not_ip_{0};
};

}  // namespace sockswitch::ports
