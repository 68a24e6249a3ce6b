// packet/frame_copy.h: copying a frame's bytes without a library call for short frames.
//
// Every copying port (ring, AF_PACKET, patch) and every copy an action makes
// moves mostly minimum-size frames. A memcpy whose length is not known at
// compile time is a call into libc plus a size dispatch, which cost more
// than the move itself for 60 bytes (pipeline_bench: a sixth of the
// per-packet time went to memmove for three copies). For 32..64 bytes two
// fixed 32-byte copies, the second one aligned to the end and overlapping
// the first, cover every length with inlined vector moves and read nothing
// outside [src, src + n).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sockswitch::packet {

// dst and src must not overlap.
inline void copy_frame_bytes(std::uint8_t* dst, const std::uint8_t* src, std::size_t n) noexcept {
  if (n >= 32 && n <= 64) {
    std::memcpy(dst, src, 32);
    std::memcpy(dst + n - 32, src + n - 32, 32);
    return;
  }
  if (n != 0) std::memcpy(dst, src, n);  // an empty span may have a null data()
}

}  // namespace sockswitch::packet
