// dataplane/header_layout.h: where a frame's IP and transport headers start, given its key.
//
// The extractor has already checked the headers and filled the key, but a
// key has no offsets; the code that edits or inspects headers after the
// lookup (header rewrites, connection tracking) finds them again here.
// Found afresh each time because VLAN edits move them.
#pragma once

#include <cstdint>

#include "flowtable/flow_key.h"
#include "packet/packet.h"

namespace sockswitch::dataplane {

struct HeaderLayout {
  std::uint32_t l3 = 0;  // after Ethernet and VLAN tags
  std::uint32_t l4 = 0;  // 0: no transport header (not IP, a later fragment, cut short)
  std::uint8_t tags = 0;
};

[[nodiscard]] constexpr bool is_vlan_tpid(std::uint16_t t) noexcept {
  return t == flowtable::kEthTypeVlan || t == flowtable::kEthTypeQinQ;
}

[[nodiscard]] HeaderLayout locate(const packet::Packet& p, const flowtable::FlowKey& key) noexcept;

}  // namespace sockswitch::dataplane
