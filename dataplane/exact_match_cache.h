// dataplane/exact_match_cache.h: the first flow cache a packet meets.
//
// Maps a whole FlowKey to what the megaflow cache or the classifier decided
// for it. It is direct-mapped with two candidate slots per key (two bit
// ranges of one hash), so a lookup is at most two key compares and never
// walks a chain, whatever an attacker sends. A miss costs a megaflow lookup;
// a wrong hit is impossible because the whole key is compared.
//
// Narrow compares: the caller may say that the key's words from `extent` on
// are all zero (the extractor knows: an IPv4 key uses only the five hot
// words of flow_key.h). A slot keeps its key's extent, its hot words inline
// and the rest in a separate array, and two keys are equal when their
// extents and their words below it are. So an IPv4 lookup reads one 64-byte
// slot and compares five words, not 144 bytes over three lines; the wider
// IPv6 and ARP keys also read their cold words. Any extent that is true of
// the key is correct; one key given different extents only misses.
//
// One instance per poll thread: no locks, no atomics. It holds raw pointers
// into the current flow-table version, so the owner clears it whenever it
// adopts a new version (before the control side is told the change is in).
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "dataplane/flow_hash.h"
#include "flowtable/flow_key.h"

namespace sockswitch::dataplane {

template <typename Value>
class ExactMatchCache final {
 public:
  static constexpr std::size_t kHotWords = 5;
  static constexpr std::size_t kColdWords = flowtable::kKeyWords - kHotWords;

  // `entries` is rounded up to a power of two.
  explicit ExactMatchCache(std::size_t entries = 8192)
      : mask_(round_up(entries) - 1),
        slots_(std::make_unique<Slot[]>(mask_ + 1)),
        cold_(std::make_unique<std::uint64_t[]>((mask_ + 1) * kColdWords)) {}

  // `hash` is hash_key(key); words [extent, kKeyWords) of `key` must be 0.
  [[nodiscard]] Value* lookup(const flowtable::FlowKey& key, std::uint64_t hash,
                              std::size_t extent = flowtable::kKeyWords) noexcept {
    const std::uint32_t tag = static_cast<std::uint32_t>(hash);
    const std::uint8_t cold = cold_count(extent);
    for (std::size_t at : {index0(hash), index1(hash)}) {
      Slot& s = slots_[at];
      if (s.used && s.tag == tag && s.cold == cold && same_key(s, at, key)) return &s.value;
    }
    return nullptr;
  }

  // Starts loading the two candidate slots of `hash` (a burst hashes all its
  // keys first, then looks them up).
  void prefetch(std::uint64_t hash) const noexcept {
    __builtin_prefetch(&slots_[index0(hash)]);
    __builtin_prefetch(&slots_[index1(hash)]);
  }

  // Takes an empty candidate slot, else evicts the first candidate unless it
  // was used more recently than the second.
  void insert(const flowtable::FlowKey& key, std::uint64_t hash, const Value& value,
              std::size_t extent = flowtable::kKeyWords) noexcept {
    const std::size_t i0 = index0(hash), i1 = index1(hash);
    Slot& a = slots_[i0];
    Slot& b = slots_[i1];
    const bool first = !a.used || (b.used && a.stamp <= b.stamp);
    Slot& victim = first ? a : b;
    const std::size_t at = first ? i0 : i1;
    for (std::size_t i = 0; i < kHotWords; ++i)
      victim.hot[i] = key.w[i];
    victim.cold = cold_count(extent);
    std::uint64_t* cold = &cold_[at * kColdWords];
    for (std::size_t i = 0; i < victim.cold; ++i)
      cold[i] = key.w[kHotWords + i];
    victim.tag = static_cast<std::uint32_t>(hash);
    victim.value = value;
    victim.used = true;
    victim.stamp = ++clock_;
  }

  void clear() noexcept {
    for (std::size_t i = 0; i <= mask_; ++i)
      slots_[i].used = false;
  }

  [[nodiscard]] std::size_t capacity() const noexcept { return mask_ + 1; }

 private:
  // One cache line for a pointer-sized Value: 16 bytes of bookkeeping, the
  // value, the hot words.
  struct alignas(64) Slot {
    std::uint32_t tag = 0;    // low half of the key's hash: most misses end here
    std::uint32_t stamp = 0;  // insertion clock, for eviction
    bool used = false;
    std::uint8_t cold = 0;  // how many words past the hot ones the key has (extent - kHotWords)
    Value value{};
    std::array<std::uint64_t, kHotWords> hot{};
  };

  static std::uint8_t cold_count(std::size_t extent) noexcept {
    return static_cast<std::uint8_t>(extent > kHotWords ? extent - kHotWords : 0);
  }

  // Branch-free over the hot words (written out: -O2 keeps a 5-step loop
  // rolled); the cold ones only for wide keys. Words
  // of either key at or past its extent are 0, and the extents are equal.
  bool same_key(const Slot& s, std::size_t at, const flowtable::FlowKey& key) const noexcept {
    std::uint64_t diff = (s.hot[0] ^ key.w[0]) | (s.hot[1] ^ key.w[1]) | (s.hot[2] ^ key.w[2]) |
                         (s.hot[3] ^ key.w[3]) | (s.hot[4] ^ key.w[4]);
    static_assert(kHotWords == 5, "the line above compares exactly the hot words");
    const std::uint64_t* cold = &cold_[at * kColdWords];
    for (std::size_t i = 0; i < s.cold; ++i)
      diff |= cold[i] ^ key.w[kHotWords + i];
    return diff == 0;
  }

  static std::size_t round_up(std::size_t n) noexcept {
    std::size_t p = 1;
    while (p < n)
      p <<= 1;
    return p;
  }
  [[nodiscard]] std::size_t index0(std::uint64_t h) const noexcept { return h & mask_; }
  [[nodiscard]] std::size_t index1(std::uint64_t h) const noexcept { return (h >> 32) & mask_; }

  std::size_t mask_;
  std::unique_ptr<Slot[]> slots_;
  std::unique_ptr<std::uint64_t[]> cold_;  // kColdWords per slot, the first `cold` in use
  std::uint32_t clock_ = 0;
};

}  // namespace sockswitch::dataplane
