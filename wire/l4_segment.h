// wire/l4_segment.h: where an Ethernet frame's TCP or UDP segment lies, for the offload work.
//
// Checksum completion and GSO segmentation both need the same few facts of
// a frame: where its IP header and its TCP/UDP segment start and end, where
// the L4 checksum sits and the pseudo-header sum. They handle what local
// senders offload: up to two VLAN tags, IPv4 without fragments, IPv6
// without extension headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "wire/segmentation.h"

namespace sockswitch::wire {

struct L4Segment {
  std::size_t l3 = 0;              // frame offset of the IP header
  std::size_t begin = 0, end = 0;  // frame offsets of the TCP/UDP segment
  std::size_t checksum_at = 0;     // frame offset of the checksum field
  std::uint32_t pseudo_sum = 0;    // pseudo-header sum with this length, not folded
  bool ipv6 = false;
  bool udp = false;
};

// False when the frame is not TCP or UDP over IP as above, or is cut short.
[[nodiscard]] bool locate_l4(std::span<const std::uint8_t> frame, L4Segment& seg) noexcept;

// locate_l4 for a GSO super-frame: false also when `how` cuts nothing or
// cuts another protocol than the frame carries (a UDP frame said to be TCP
// would be cut at the wrong header).
[[nodiscard]] bool locate_gso_l4(std::span<const std::uint8_t> frame, Segmentation how,
                                 L4Segment& seg) noexcept;

}  // namespace sockswitch::wire
