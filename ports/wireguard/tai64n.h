// ports/wireguard/tai64n.h: the TAI64N timestamp an initiation carries.
//
// 8 bytes big-endian seconds (2^62 + 10 + Unix seconds, as wireguard-go
// and the Linux module label them) and 4 bytes big-endian nanoseconds. A
// responder accepts an initiation only if its timestamp is greater than
// the last one from that peer, which stops replayed initiations. The
// nanoseconds are rounded down to a multiple of 2^24 (about 16.8 ms), as
// the reference implementations do, so the value does not leak a precise
// clock; two initiations are at least 1/50 s apart anyway.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>

namespace sockswitch::wireguard {

using Tai64n = std::array<std::uint8_t, 12>;

[[nodiscard]] Tai64n tai64n_from(std::chrono::system_clock::time_point wall) noexcept;
// Byte order is numeric order.
[[nodiscard]] bool tai64n_after(const Tai64n& later, const Tai64n& earlier) noexcept;

}  // namespace sockswitch::wireguard
