// dataplane/flow_hash.h: hashing FlowKeys for the flow caches.
//
// The per-packet budget is tens of nanoseconds, so the hash is built for
// throughput, not strength: each word is multiplied by its own odd constant
// and the products are summed, so the multiplies are independent (no chain
// through the accumulator) and the CPU runs them in parallel. A final mix
// spreads the high bits down, since tables index with the low bits. The keys
// come from packets an attacker controls, so tables must cope with
// collisions by bounding probes, never by trusting the hash.
#pragma once

#include <cstdint>
#include <span>
#include <utility>

#include "flowtable/flow_key.h"

namespace sockswitch::dataplane {

inline constexpr std::array<std::uint64_t, flowtable::kKeyWords> kWordMultipliers{{
    0x9e3779b97f4a7c15, 0xc2b2ae3d27d4eb4f, 0x165667b19e3779f9, 0xd6e8feb86659fd93,
    0xff51afd7ed558ccd, 0xc4ceb9fe1a85ec53, 0x27d4eb2f165667c5, 0x94d049bb133111eb,
    0xbf58476d1ce4e5b9, 0x2545f4914f6cdd1d, 0x9fb21c651e98df25, 0xe7037ed1a0b428db,
    0x8ebc6af09c88c6e3, 0x589965cc75374cc3, 0x1d8e4e27c47d124f, 0xa0761d6478bd642f,
    0x6c8e9cf570932bd5, 0x8bb84b93962eacc9, 0x4be98134a5976fd3, 0x3bc0993a5ad19a13,
}};

[[nodiscard]] constexpr std::uint64_t finish_hash(std::uint64_t h) noexcept {
  h ^= h >> 32;
  h *= 0xd6e8feb86659fd93;
  h ^= h >> 32;
  return h;
}

// Hash of every word of the key.
[[nodiscard]] inline std::uint64_t hash_key(const flowtable::FlowKey& key) noexcept {
  std::uint64_t h = 0;
  for (std::size_t i = 0; i < flowtable::kKeyWords; ++i)
    h += key.w[i] * kWordMultipliers[i];
  return finish_hash(h);
}

// hash_key(key) for a key whose words from `extent` on are all zero (zero
// words add nothing to the sum), reading only the words before `extent`.
[[nodiscard]] inline std::uint64_t hash_key_prefix(const flowtable::FlowKey& key,
                                                   std::size_t extent) noexcept {
  std::uint64_t h = 0;
  for (std::size_t i = 0; i < extent; ++i)
    h += key.w[i] * kWordMultipliers[i];
  return finish_hash(h);
}

// hash_key_prefix(key, N) for a constant N, written out so that the N
// multiplies are independent instructions (-O2 keeps the loop above rolled).
template <std::size_t N>
[[nodiscard]] inline std::uint64_t hash_key_first(const flowtable::FlowKey& key) noexcept {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return finish_hash(((key.w[I] * kWordMultipliers[I]) + ...));
  }
  (std::make_index_sequence<N>{});
}

// Hash of key & mask over the words the mask uses (listed in `words`).
[[nodiscard]] inline std::uint64_t hash_masked(const flowtable::FlowKey& key,
                                               const flowtable::FlowMask& mask,
                                               std::span<const std::uint8_t> words) noexcept {
  std::uint64_t h = 0;
  for (std::uint8_t i : words)
    h += (key.w[i] & mask.w[i]) * kWordMultipliers[i];
  return finish_hash(h);
}

}  // namespace sockswitch::dataplane
