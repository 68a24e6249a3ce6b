// flowtable/subtable_hash.h: the hash of a masked key and what is cut from it.
//
// One 64-bit hash of "key & mask" (over only the words the mask uses) picks,
// in a subtable: the segment (bits 32.. of the hash), the slot and its 32-bit
// check value (the low half), and the prefilter word and bits (see
// SubtableSegment). The control side (insert/remove) and the lookup path
// must cut it identically, so every piece of that arithmetic lives here.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sockswitch::flowtable::subtable_hash {

inline constexpr std::uint64_t kSeed = 0x243f6a8885a308d3;

// Each word is mixed on its own (with a constant that depends on its
// position) and the results are summed, so the words of one key are hashed
// in parallel rather than in a chain of dependent multiplies: the lookup
// hashes one key per subtable and is bound by that latency. finish()
// spreads every bit over the whole result.
[[nodiscard]] constexpr std::uint64_t mix(std::size_t position, std::uint64_t x) noexcept {
  x = (x ^ (kSeed + position * 0x6a09e667f3bcc909)) * 0x9e3779b97f4a7c15;
  return x ^ (x >> 29);
}
[[nodiscard]] constexpr std::uint64_t finish(std::uint64_t h) noexcept {
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93;
  return h ^ (h >> 32);
}

// The hash of the `n` words a subtable's mask uses, already masked.
[[nodiscard]] constexpr std::uint64_t hash_words(const std::uint64_t* masked,
                                                 std::size_t n) noexcept {
  std::uint64_t h = 0;
  for (std::size_t i = 0; i < n; ++i)
    h += mix(i, masked[i]);
  return finish(h);
}

// Which segment of a subtable with `segment_mask` + 1 segments.
[[nodiscard]] constexpr std::uint64_t segment_of(std::uint64_t h,
                                                 std::uint64_t segment_mask) noexcept {
  return (h >> 32) & segment_mask;
}

// The per-slot check value; 0 marks an empty slot, so it is never 0.
[[nodiscard]] constexpr std::uint32_t slot_hash(std::uint64_t h) noexcept {
  const auto s = static_cast<std::uint32_t>(h);
  return s == 0 ? 1 : s;
}

// Prefilter (a blocked Bloom filter, one 64-bit word per key). The word is
// chosen by slot-hash bits 4.. (so a segment with capacity C has C/16
// words), the four bits within it by hash bits 40..63, which no other use
// reads until a subtable has more than 256 segments (over 100 000 rules of
// one mask); past that they only make the filter a little less selective.
[[nodiscard]] constexpr std::uint32_t filter_word(std::uint32_t slot_hash,
                                                  std::uint32_t filter_mask) noexcept {
  return (slot_hash >> 4) & filter_mask;
}
[[nodiscard]] constexpr std::uint64_t filter_bits(std::uint64_t h) noexcept {
  return (std::uint64_t{1} << (h >> 58)) | (std::uint64_t{1} << ((h >> 52) & 63)) |
         (std::uint64_t{1} << ((h >> 46) & 63)) | (std::uint64_t{1} << ((h >> 40) & 63));
}

}  // namespace sockswitch::flowtable::subtable_hash
