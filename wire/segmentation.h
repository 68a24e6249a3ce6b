// wire/segmentation.h: how a GSO super-frame is to be cut into the frames the wire carries.
//
// A local sender may leave segmentation to its device (the virtio-net
// header's gso_type and gso_size); the frame then crosses the bridge whole
// and is cut, or handed on whole, at its output.
#pragma once

#include <cstdint>

namespace sockswitch::wire {

enum class GsoKind : std::uint8_t { none, tcp, udp_l4 };

// Its kind and the L4 payload of each segment (the virtio-net header's gso_size).
struct Segmentation {
  GsoKind kind = GsoKind::none;
  std::uint16_t segment_payload = 0;
};

}  // namespace sockswitch::wire
