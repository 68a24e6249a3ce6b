// packet/mac_addr.h: an Ethernet address as a value type.
//
// Held as the same 48-bit host-order integer a FlowKey stores in eth_src /
// eth_dst (first octet most significant), so moving an address between the
// key and the MAC table is a copy, never a byte shuffle.
#pragma once

#include <cstdint>

namespace sockswitch::packet {

struct MacAddr final {
  std::uint64_t bits = 0;  // only the low 48 bits are used

  [[nodiscard]] static constexpr MacAddr from_u64(std::uint64_t v) noexcept {
    return MacAddr{v & 0xffff'ffff'ffffULL};
  }
  // Group bit: the low bit of the first octet. Set for broadcast and multicast.
  [[nodiscard]] constexpr bool is_multicast() const noexcept { return (bits >> 40) & 1; }
  [[nodiscard]] constexpr bool is_zero() const noexcept { return bits == 0; }

  friend constexpr bool operator==(MacAddr, MacAddr) = default;
};

}  // namespace sockswitch::packet
