// dataplane/gso_segmenter.h: a GSO super-frame cut into the MTU-sized frames the wire would carry.
//
// A sender on the same host with segmentation offload (a container's veth
// by default) hands its device TCP segments or UDP datagram trains of up to
// 64 KiB, to be cut later. AF_PACKET with PACKET_VNET_HDR delivers them whole,
// with the virtio-net header saying how to cut (type and segment size). The
// switch keeps them whole up to an output that takes them (another AF_PACKET
// port); for any other output, or when no large buffer is free at receive,
// they are cut here into pool packets of one MTU-sized frame each, as the
// kernel's software GSO would: every segment gets a copy of the headers,
// its share of the payload, its own lengths, IPv4 id, TCP sequence number
// and flags, and a complete checksum.
#pragma once

#include <cstdint>
#include <span>

#include "packet/packet.h"
#include "packet/packet_pool.h"

namespace sockswitch::dataplane {

// Cuts `frame` (Ethernet, up to two VLAN tags, IPv4 or IPv6 without
// extension headers, then TCP or UDP) into segments of at most
// `how.segment_payload` bytes of L4 payload, each in a packet from `pool`,
// written to out.front() onwards. Returns how many; 0 (nothing allocated)
// when the frame is not what `how` says, `out` is too small, or the pool
// runs dry. The frame's own L4 checksum field is not read (partial or not).
[[nodiscard]] std::size_t segment_gso(std::span<const std::uint8_t> frame, wire::Segmentation how,
                                      packet::PacketPool& pool,
                                      std::span<packet::Packet*> out) noexcept;

// The super-frame `p` cut as its gso() says; `p` itself is left as it is.
[[nodiscard]] inline std::size_t segment_gso(const packet::Packet& p, packet::PacketPool& pool,
                                             std::span<packet::Packet*> out) noexcept {
  return segment_gso(p.bytes(), p.gso(), pool, out);
}

// The most segments one super-frame may need: 64 KiB cut at the smallest
// IPv4 MSS (536) is 123; UDP GSO allows 128 datagrams a train.
inline constexpr std::size_t kMaxGsoSegments = 256;

}  // namespace sockswitch::dataplane
