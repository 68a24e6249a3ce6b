// wire/ethernet.h: the EtherTypes, IP protocol numbers and header sizes the header walks use.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sockswitch::wire {

inline constexpr std::uint16_t kEthIpv4 = 0x0800, kEthArp = 0x0806, kEthIpv6 = 0x86dd;
inline constexpr std::uint16_t kEthVlan = 0x8100, kEthQinQ = 0x88a8;
inline constexpr std::uint8_t kProtoTcp = 6, kProtoUdp = 17, kProtoIcmpv6 = 58;
inline constexpr std::size_t kEthHeader = 14, kVlanTag = 4, kIpv6Header = 40;

}  // namespace sockswitch::wire
