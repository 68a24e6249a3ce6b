// wire/checksum.h: Internet checksums, updated in place.
//
// Header rewrites change a few bytes of a packet whose checksum covers
// hundreds; recomputing would read the whole payload. RFC 1624's incremental
// form folds the old and new 16-bit words into the stored sum instead:
// HC' = ~(~HC + ~m + m'). Values here are host-order integers of the words
// as they sit in the packet (big-endian on the wire, converted by the
// caller's load/store).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <span>

namespace sockswitch::wire {

[[nodiscard]] constexpr std::uint16_t load_be16(const std::uint8_t* p) noexcept {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
constexpr void store_be16(std::uint8_t* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
[[nodiscard]] constexpr std::uint32_t load_be32(const std::uint8_t* p) noexcept {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
constexpr void store_be32(std::uint8_t* p, std::uint32_t v) noexcept {
  store_be16(p, static_cast<std::uint16_t>(v >> 16));
  store_be16(p + 2, static_cast<std::uint16_t>(v));
}

// The stored checksum after one 16-bit word changed from `old_word` to `new_word`.
[[nodiscard]] constexpr std::uint16_t checksum_update16(std::uint16_t checksum,
                                                        std::uint16_t old_word,
                                                        std::uint16_t new_word) noexcept {
  std::uint32_t sum = static_cast<std::uint16_t>(~checksum);
  sum += static_cast<std::uint16_t>(~old_word);
  sum += new_word;
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

[[nodiscard]] constexpr std::uint16_t checksum_update32(std::uint16_t checksum,
                                                        std::uint32_t old_value,
                                                        std::uint32_t new_value) noexcept {
  checksum = checksum_update16(checksum, static_cast<std::uint16_t>(old_value >> 16),
                               static_cast<std::uint16_t>(new_value >> 16));
  return checksum_update16(checksum, static_cast<std::uint16_t>(old_value),
                           static_cast<std::uint16_t>(new_value));
}

// The one's-complement sum of `bytes` (odd length padded with zero), not
// inverted, added to `sum`; for building checksums from scratch (checksum
// completion, ARP/ND replies, tests). The sum is taken over 32-bit words in
// host order and swapped once at the end (RFC 1071: the one's-complement sum
// does not depend on byte order), so a full frame costs about a cycle per
// eight bytes rather than one per two.
[[nodiscard]] inline std::uint32_t checksum_partial(std::span<const std::uint8_t> bytes,
                                                    std::uint32_t sum = 0) noexcept {
  std::uint64_t acc = 0;
  const std::uint8_t* p = bytes.data();
  std::size_t n = bytes.size();
  for (; n >= 4; p += 4, n -= 4) {
    std::uint32_t w;
    std::memcpy(&w, p, 4);
    acc += w;
  }
  if (n > 0) {
    std::uint8_t tail[4] = {0, 0, 0, 0};
    std::memcpy(tail, p, n);
    std::uint32_t w;
    std::memcpy(&w, tail, 4);
    acc += w;
  }
  acc = (acc & 0xffffffff) + (acc >> 32);
  acc = (acc & 0xffffffff) + (acc >> 32);
  std::uint32_t folded = static_cast<std::uint32_t>(acc);
  folded = (folded & 0xffff) + (folded >> 16);
  folded = (folded & 0xffff) + (folded >> 16);
  if constexpr (std::endian::native == std::endian::little)
    folded = static_cast<std::uint16_t>(folded << 8 | folded >> 8);
  return sum + folded;
}

// The one's-complement sum folded to 16 bits, not inverted (what a sender
// that leaves the checksum to offload stores: the pseudo-header sum).
[[nodiscard]] constexpr std::uint16_t checksum_fold(std::uint32_t sum) noexcept {
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(sum);
}

[[nodiscard]] constexpr std::uint16_t checksum_finish(std::uint32_t sum) noexcept {
  return static_cast<std::uint16_t>(~checksum_fold(sum));
}

// A finished TCP/UDP checksum as it is stored: a UDP sum of zero is sent as
// all ones, since zero means "no checksum" there (the kernel does the same
// for both, and for TCP the two are equal to a receiver).
[[nodiscard]] constexpr std::uint16_t l4_checksum_field(std::uint32_t sum) noexcept {
  const std::uint16_t c = checksum_finish(sum);
  return c == 0 ? 0xffff : c;
}

}  // namespace sockswitch::wire
