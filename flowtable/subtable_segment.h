// flowtable/subtable_segment.h: one shard of a subtable's hash table.
//
// A subtable maps "key & mask" to the best rule with that masked value. Its
// table is cut into segments by the top bits of the hash so that a version
// which changes one rule copies one segment (a few hundred rules) rather
// than the whole subtable; untouched segments are shared between versions.
//
// Inside a segment: open addressing with linear probing, load at most 1/4:
// a miss then almost always ends on its first probe, which keeps the
// branch predictable (measured: 1/2 cost noticeably more with 50 masks).
// Three arrays keep the miss path (the common case: most subtables a packet
// visits hold nothing for it) off the big ones:
//   filter_  a blocked Bloom filter over the heads' hashes: one 64-bit word
//            per 16 slots, 4 bits per key (16-32 bits per head at our load),
//            so a few percent of the table's size, small enough to stay in
//            cache for every subtable at once. A key whose bits are not all
//            set is certainly absent; ~1% of absent keys get past it.
//   hashes_  32-bit hash per slot, 0 = empty; a miss usually reads one entry.
//   records_ per slot, `stride` words: [rank][rule pointer][masked key...]
//            so a hit reads one more cache line and nothing else.
// The filter is part of the segment, so it is copied with it on write and a
// published version's filter never changes. Removal recomputes the one
// filter word the removed key used (from the remaining heads' keys), so
// stale bits do not pile up.
// Rules whose masked key equals a better rule's (same match, lower priority)
// are kept aside in `shadowed_`; they only matter when the better one goes.
//
// Lookup goes through a SegmentView (plain pointers into the arrays, which
// a published version flattens into one array; see ProbePlan) and is
// noexcept and allocation-free; everything else is the control thread's, on
// a segment no published version can see yet. `h` below is always the full
// 64-bit hash of the masked key (subtable_hash.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "flowtable/classifier_rule.h"
#include "flowtable/subtable_hash.h"

namespace sockswitch::flowtable {

// What a subtable lookup found: the best rule with that masked key.
struct SubtableHit {
  std::uint64_t rank = 0;  // 0: nothing
  const ClassifierRule* rule = nullptr;
};

// What a lookup needs of one segment, by value: no hop through the segment
// object. Valid while the segment lives and is not edited (a published
// version guarantees both).
struct SegmentView {
  const std::uint64_t* filter;
  const std::uint32_t* hashes;
  const std::uint64_t* records;
  std::uint32_t cap_mask;
  std::uint32_t key_words;

  // False when no head can have hash `h` (the prefilter's answer; cheap,
  // one word of a small array). True for every head and ~1% of the rest.
  [[nodiscard]] bool may_contain(std::uint64_t h) const noexcept {
    const std::uint64_t bits = subtable_hash::filter_bits(h);
    const std::uint32_t word =
        subtable_hash::filter_word(subtable_hash::slot_hash(h), cap_mask >> 4);
    return (filter[word] & bits) == bits;
  }

  // The head rule whose masked key is `masked` (hash `h`), if any; the
  // hash table alone, without the prefilter.
  [[nodiscard]] SubtableHit find_in_table(std::uint64_t h,
                                          const std::uint64_t* masked) const noexcept {
    const std::uint32_t hash = subtable_hash::slot_hash(h);
    const std::size_t stride = std::size_t{key_words} + 2;
    std::uint32_t pos = hash & cap_mask;
    for (;;) {
      const std::uint32_t s = hashes[pos];
      if (s == 0) return {};
      if (s == hash) {
        const std::uint64_t* rec = &records[std::size_t{pos} * stride];
        bool same = true;
        for (std::size_t i = 0; i < key_words; ++i)
          same &= rec[2 + i] == masked[i];
        if (same) return {rec[0], reinterpret_cast<const ClassifierRule*>(rec[1])};
      }
      pos = (pos + 1) & cap_mask;
    }
  }
};

class SubtableSegment final {
 public:
  // `key_words`: how many words of the key the owning subtable's mask uses.
  explicit SubtableSegment(std::size_t key_words, std::size_t expected_rules = 0);

  [[nodiscard]] SegmentView view() const noexcept {
    return {filter_.data(), hashes_.data(), records_.data(), capacity_ - 1,
            static_cast<std::uint32_t>(key_words_)};
  }

  // Control side. `masked` is the rule's match value restricted to the
  // subtable's words, `hash` its hash as the subtable computes it.
  // Throws std::invalid_argument when a rule with the same match and
  // priority is already present.
  void insert(std::uint64_t h, const std::uint64_t* masked, RulePtr rule);
  // Removes the rule with that id; false when it is not here.
  bool remove(std::uint64_t h, const std::uint64_t* masked, const ClassifierRule& rule);
  // Swaps `old` for `updated`, which must have the same match, priority and
  // seq (a modify of actions); false when `old` is not here.
  bool replace(std::uint64_t h, const std::uint64_t* masked, const ClassifierRule& old,
               RulePtr updated);
  [[nodiscard]] const ClassifierRule* find_strict(std::uint64_t h, const std::uint64_t* masked,
                                                  std::uint16_t priority) const noexcept;

  [[nodiscard]] std::size_t size() const noexcept { return heads_count_ + shadowed_.size(); }
  [[nodiscard]] std::uint64_t max_rank() const noexcept { return max_rank_; }

  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = 0; i < capacity_; ++i)
      if (hashes_[i] != 0) f(*heads_[i]);
    for (const Shadowed& s : shadowed_)
      f(*s.rule);
  }
  // As for_each, handing out the owning pointers (for re-sharding).
  template <class F>
  void for_each_owned(F&& f) const {
    for (std::size_t i = 0; i < capacity_; ++i)
      if (hashes_[i] != 0) f(heads_[i]);
    for (const Shadowed& s : shadowed_)
      f(s.rule);
  }

 private:
  static constexpr std::size_t kKeyOffset = 2;
  struct Shadowed {
    std::uint32_t slot_hash;
    RulePtr rule;
  };

  [[nodiscard]] bool same_key(const std::uint64_t* a, const std::uint64_t* b) const noexcept {
    for (std::size_t i = 0; i < key_words_; ++i)
      if (a[i] != b[i]) return false;
    return true;
  }
  // The slot holding this masked key, or capacity_ when absent.
  [[nodiscard]] std::size_t slot_of(std::uint32_t hash, const std::uint64_t* masked) const noexcept;
  void set_head(std::size_t slot, RulePtr rule);
  void grow();
  void erase_slot(std::size_t slot);
  void add_to_filter(std::uint64_t h) noexcept;
  // Recomputes filter word `word` from the heads whose home slot it covers.
  void refresh_filter_word(std::uint32_t word) noexcept;
  void recompute_max_rank() noexcept;

  std::size_t key_words_;
  std::size_t stride_;
  std::uint32_t capacity_;  // power of two
  std::size_t heads_count_ = 0;
  std::uint64_t max_rank_ = 0;
  std::vector<std::uint64_t> filter_;  // max(1, capacity_ / 16) words
  std::vector<std::uint32_t> hashes_;
  std::vector<std::uint64_t> records_;
  std::vector<RulePtr> heads_;  // owns what records_ points at
  std::vector<Shadowed> shadowed_;
};

}  // namespace sockswitch::flowtable
