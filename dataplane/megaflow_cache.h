// dataplane/megaflow_cache.h: the wildcarded flow cache behind the EMC.
//
// When the classifier decides a packet, it also reports which bits of the
// key it looked at (the consulted mask). Every packet that agrees with this
// one on those bits gets the same decision, so the cache stores (mask,
// key & mask) -> decision and answers for all of them: one entry covers a
// whole TCP connection's worth of ports when the table never looked at ports.
//
// Structure: one subtable per distinct mask (few in practice: one per shape
// of flow table path), each an open-addressing table probed over a bounded
// window. Subtables are searched in the order they were created; entries of
// different subtables never overlap for a packet, because each came from one
// classifier decision over the same table version.
//
// Bounds: at most kMaxSubtables masks and `capacity` entries per subtable;
// past either bound, or when memory for a new subtable cannot be had, a
// decision is simply not cached (the classifier still answers), so hostile
// traffic cannot grow memory and a poll thread never throws.
//
// One instance per poll thread; cleared whenever the thread adopts a new
// flow-table version.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "dataplane/flow_hash.h"
#include "flowtable/flow_key.h"

namespace sockswitch::dataplane {

template <typename Value>
class MegaflowCache final {
 public:
  static constexpr std::size_t kMaxSubtables = 32;
  static constexpr std::size_t kProbeWindow = 8;

  explicit MegaflowCache(std::size_t capacity_per_subtable = 4096)
      : capacity_(round_up(capacity_per_subtable)) {
    subtables_.reserve(kMaxSubtables);
  }

  [[nodiscard]] const Value* lookup(const flowtable::FlowKey& key) const noexcept {
    for (std::size_t s = 0; s < active_; ++s) {
      const Subtable& t = subtables_[s];
      const std::uint64_t h = hash_masked(key, t.mask, t.word_list());
      for (std::size_t i = 0; i < kProbeWindow; ++i) {
        const Entry& e = t.entries[(h + i) & (capacity_ - 1)];
        if (!e.used) break;
        if (e.hash == h && t.same(e.key, key)) return &e.value;
      }
    }
    return nullptr;
  }

  // Returns false when the decision could not be cached (bounds reached, or
  // no memory for a new subtable).
  bool insert(const flowtable::FlowKey& key, const flowtable::FlowMask& mask,
              const Value& value) noexcept {
    Subtable* t = find_or_add(mask);
    if (!t) return false;
    const std::uint64_t h = hash_masked(key, t->mask, t->word_list());
    for (std::size_t i = 0; i < kProbeWindow; ++i) {
      Entry& e = t->entries[(h + i) & (capacity_ - 1)];
      if (e.used && !(e.hash == h && t->same(e.key, key))) continue;
      e.key = flowtable::masked(key, t->mask);
      e.hash = h;
      e.value = value;
      if (!e.used) ++t->size;
      e.used = true;
      return true;
    }
    return false;
  }

  // Keeps the subtables' memory for reuse, so a thread that re-learns its
  // masks after a flow-table change allocates nothing.
  void clear() noexcept { active_ = 0; }

  [[nodiscard]] std::size_t subtable_count() const noexcept { return active_; }
  [[nodiscard]] std::size_t size() const noexcept {
    std::size_t n = 0;
    for (std::size_t s = 0; s < active_; ++s)
      n += subtables_[s].size;
    return n;
  }

 private:
  struct Entry {
    flowtable::FlowKey key;  // already masked
    std::uint64_t hash = 0;
    bool used = false;
    Value value{};
  };

  struct Subtable {
    flowtable::FlowMask mask;
    std::array<std::uint8_t, flowtable::kKeyWords> words{};
    std::uint8_t word_count = 0;
    std::size_t size = 0;
    std::unique_ptr<Entry[]> entries;

    [[nodiscard]] std::span<const std::uint8_t> word_list() const noexcept {
      return {words.data(), word_count};
    }
    [[nodiscard]] bool same(const flowtable::FlowKey& stored,
                            const flowtable::FlowKey& key) const noexcept {
      for (std::uint8_t i = 0; i < word_count; ++i) {
        const std::uint8_t w = words[i];
        if (stored.w[w] != (key.w[w] & mask.w[w])) return false;
      }
      return true;
    }
  };

  // Runs on a classifier miss, off the cache-hit path. Memory for a subtable
  // is allocated the first time a thread needs that many masks, then reused;
  // sizing all kMaxSubtables up front would cost every bridge of every
  // thread tens of MB for masks most tables never produce. The vector was
  // reserved, so only the entries can fail to allocate.
  Subtable* find_or_add(const flowtable::FlowMask& mask) noexcept {
    for (std::size_t s = 0; s < active_; ++s)
      if (subtables_[s].mask == mask) return &subtables_[s];
    if (active_ == kMaxSubtables) return nullptr;
    if (active_ == subtables_.size()) {
      std::unique_ptr<Entry[]> entries(new (std::nothrow) Entry[capacity_]());
      if (!entries) return nullptr;
      subtables_.emplace_back().entries = std::move(entries);
    } else {
      for (std::size_t i = 0; i < capacity_; ++i)
        subtables_[active_].entries[i].used = false;
    }
    Subtable& t = subtables_[active_++];
    t.mask = mask;
    t.word_count = 0;
    t.size = 0;
    for (std::size_t i = 0; i < flowtable::kKeyWords; ++i)
      if (mask.w[i]) t.words[t.word_count++] = static_cast<std::uint8_t>(i);
    return &t;
  }

  static std::size_t round_up(std::size_t n) noexcept {
    std::size_t p = 1;
    while (p < n)
      p <<= 1;
    return p;
  }

  std::size_t capacity_;
  std::vector<Subtable> subtables_;  // [0, active_) in use; the rest kept for reuse
  std::size_t active_ = 0;
};

}  // namespace sockswitch::dataplane
