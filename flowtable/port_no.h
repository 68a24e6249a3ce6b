// flowtable/port_no.h: OpenFlow port numbers as a value type.
//
// Numbers follow OpenFlow 1.0 / OVS's 16-bit space so that flows printed by
// sockswitch read like `ovs-ofctl` output: 1..0xff00 are real ports, the top
// of the range holds the reserved ports that actions and `in_port=` may name.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace sockswitch::flowtable {

enum class PortNo : std::uint32_t {};

inline constexpr PortNo kPortMax{0xff00};  // highest number a real port may have
inline constexpr PortNo kPortInPort{0xfff8};
inline constexpr PortNo kPortTable{0xfff9};
inline constexpr PortNo kPortNormal{0xfffa};
inline constexpr PortNo kPortFlood{0xfffb};
inline constexpr PortNo kPortAll{0xfffc};
inline constexpr PortNo kPortController{0xfffd};
inline constexpr PortNo kPortLocal{0xfffe};
inline constexpr PortNo kPortNone{0xffff};

[[nodiscard]] constexpr std::uint32_t to_u32(PortNo p) noexcept {
  return static_cast<std::uint32_t>(p);
}

// The reserved name of a port number ("LOCAL", "NORMAL", ...), if it has one.
[[nodiscard]] std::optional<std::string_view> reserved_port_name(PortNo p) noexcept;

// The reserved port a name denotes (case-insensitive, as ovs-ofctl accepts).
[[nodiscard]] std::optional<PortNo> reserved_port_by_name(std::string_view name) noexcept;

}  // namespace sockswitch::flowtable
