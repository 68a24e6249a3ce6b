// ports/virtio_net_header.h: the virtio-net header AF_PACKET puts before each frame
// (PACKET_VNET_HDR).
//
// The kernel's <linux/virtio_net.h> does not compile as C++ (a member named
// `class`), so the ten bytes of the stable ABI are spelled out here. Fields
// are in the host's byte order (little-endian virtio on every host we run).
#pragma once

#include <cstdint>

namespace sockswitch::ports {

struct VirtioNetHeader {
  static constexpr std::uint8_t kNeedsChecksum = 1;  // VIRTIO_NET_HDR_F_NEEDS_CSUM
  static constexpr std::uint8_t kGsoNone = 0, kGsoTcpV4 = 1, kGsoUdp = 3, kGsoTcpV6 = 4,
                                kGsoUdpL4 = 5, kGsoEcn = 0x80;

  std::uint8_t flags = 0;
  std::uint8_t gso_type = kGsoNone;
  std::uint16_t hdr_len = 0;
  std::uint16_t gso_size = 0;
  std::uint16_t csum_start = 0;
  std::uint16_t csum_offset = 0;
};
static_assert(sizeof(VirtioNetHeader) == 10);

}  // namespace sockswitch::ports
