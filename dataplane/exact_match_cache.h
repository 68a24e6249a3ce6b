// dataplane/exact_match_cache.h: the first flow cache a packet meets.
//
// Maps a whole FlowKey to what the megaflow cache or the classifier decided
// for it. It is direct-mapped with two candidate slots per key (two bit
// ranges of one hash), so a lookup is at most two key compares and never
// walks a chain, whatever an attacker sends. A miss costs a megaflow lookup;
// a wrong hit is impossible because the whole key is compared.
//
// One instance per poll thread: no locks, no atomics. It holds raw pointers
// into the current flow-table version, so the owner clears it whenever it
// adopts a new version (before the control side is told the change is in).
#pragma once

#include <cstdint>
#include <memory>

#include "dataplane/flow_hash.h"
#include "flowtable/flow_key.h"

namespace sockswitch::dataplane {

template <typename Value>
class ExactMatchCache final {
 public:
  // `entries` is rounded up to a power of two.
  explicit ExactMatchCache(std::size_t entries = 8192)
      : mask_(round_up(entries) - 1), slots_(std::make_unique<Slot[]>(mask_ + 1)) {}

  [[nodiscard]] Value* lookup(const flowtable::FlowKey& key, std::uint64_t hash) noexcept {
    for (std::size_t probe : {index0(hash), index1(hash)}) {
      Slot& s = slots_[probe];
      if (s.hash == hash && s.used && same_key(s.key, key)) return &s.value;
    }
    return nullptr;
  }

  // Takes an empty candidate slot, else evicts the first candidate unless it
  // was used more recently than the second.
  void insert(const flowtable::FlowKey& key, std::uint64_t hash, const Value& value) noexcept {
    Slot& a = slots_[index0(hash)];
    Slot& b = slots_[index1(hash)];
    Slot& victim = !a.used ? a : !b.used ? b : (a.stamp <= b.stamp ? a : b);
    victim.key = key;
    victim.hash = hash;
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
  struct Slot {
    flowtable::FlowKey key;
    std::uint64_t hash = 0;
    std::uint32_t stamp = 0;
    bool used = false;
    Value value{};
  };

  // Branch-free over all words (vectorises); std::array's == calls memcmp.
  static bool same_key(const flowtable::FlowKey& a, const flowtable::FlowKey& b) noexcept {
    std::uint64_t diff = 0;
    for (std::size_t i = 0; i < flowtable::kKeyWords; ++i)
      diff |= a.w[i] ^ b.w[i];
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
  std::uint32_t clock_ = 0;
};

}  // namespace sockswitch::dataplane
