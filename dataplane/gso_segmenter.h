// dataplane/gso_segmenter.h: a GSO super-frame cut into the MTU-sized frames the wire would carry.
//
// A sender on the same host with segmentation offload (a container's veth
// by default) hands its device TCP segments or UDP datagram trains of up to
// 64 KiB, to be cut later. AF_PACKET with PACKET_VNET_HDR delivers them whole,
// with the virtio-net header saying how to cut (type and segment size); pool
// packets hold one MTU-sized frame, so the port cuts them here, as the
// kernel's software GSO would: every segment gets a copy of the headers,
// its share of the payload, its own lengths, IPv4 id, TCP sequence number
// and flags, and a complete checksum.
#pragma once

#include <cstdint>
#include <span>

#include "dataplane/packet.h"
#include "dataplane/packet_pool.h"

namespace sockswitch::dataplane {

enum class GsoKind : std::uint8_t { tcp, udp_l4 };

// Cuts `frame` (Ethernet, up to two VLAN tags, IPv4 or IPv6 without
// extension headers, then TCP or UDP) into segments of at most
// `segment_payload` bytes of L4 payload, each in a packet from `pool`,
// written to out.front() onwards. Returns how many; 0 (nothing allocated)
// when the frame is not what `kind` says, `out` is too small, or the pool
// runs dry.
[[nodiscard]] std::size_t segment_gso(std::span<const std::uint8_t> frame, GsoKind kind,
                                      std::uint32_t segment_payload, PacketPool& pool,
                                      std::span<Packet*> out) noexcept;

}  // namespace sockswitch::dataplane
