// dataplane/checksum.h: Internet checksums, updated in place.
//
// Header rewrites change a few bytes of a packet whose checksum covers
// hundreds; recomputing would read the whole payload. RFC 1624's incremental
// form folds the old and new 16-bit words into the stored sum instead:
// HC' = ~(~HC + ~m + m'). Values here are host-order integers of the words
// as they sit in the packet (big-endian on the wire, converted by the
// caller's load/store).
#pragma once

#include <cstdint>
#include <span>

namespace sockswitch::dataplane {

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
// inverted; for building checksums from scratch (ARP/ND replies, tests).
[[nodiscard]] inline std::uint32_t checksum_partial(std::span<const std::uint8_t> bytes,
                                                    std::uint32_t sum = 0) noexcept {
  std::size_t i = 0;
  for (; i + 1 < bytes.size(); i += 2)
    sum += load_be16(&bytes[i]);
  if (i < bytes.size()) sum += std::uint32_t{bytes[i]} << 8;
  return sum;
}

[[nodiscard]] constexpr std::uint16_t checksum_finish(std::uint32_t sum) noexcept {
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

}  // namespace sockswitch::dataplane
