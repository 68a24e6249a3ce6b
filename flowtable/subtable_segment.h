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
// Two parallel arrays keep the miss path (the common case: most subtables
// a packet visits hold nothing for it) on one small array:
//   hashes_  32-bit hash per slot, 0 = empty; a miss usually reads one entry.
//   records_ per slot, `stride` words: [rank][rule pointer][masked key...]
//            so a hit reads one more cache line and nothing else.
// Rules whose masked key equals a better rule's (same match, lower priority)
// are kept aside in `shadowed_`; they only matter when the better one goes.
//
// Lookup (find) is noexcept and allocation-free; everything else is the
// control thread's, on a segment no published version can see yet.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "flowtable/classifier_rule.h"

namespace sockswitch::flowtable {

// What a subtable lookup found: the best rule with that masked key.
struct SubtableHit {
  std::uint64_t rank = 0;  // 0: nothing
  const ClassifierRule* rule = nullptr;
};

class SubtableSegment final {
 public:
  // `key_words`: how many words of the key the owning subtable's mask uses.
  explicit SubtableSegment(std::size_t key_words, std::size_t expected_rules = 0);

  [[nodiscard]] SubtableHit find(std::uint32_t hash, const std::uint64_t* masked) const noexcept {
    const std::uint32_t cap_mask = capacity_ - 1;
    std::uint32_t pos = hash & cap_mask;
    for (;;) {
      const std::uint32_t h = hashes_[pos];
      if (h == 0) return {};
      if (h == hash) {
        const std::uint64_t* rec = &records_[std::size_t{pos} * stride_];
        if (same_key(rec + kKeyOffset, masked)) {
          return {rec[0], reinterpret_cast<const ClassifierRule*>(rec[1])};
        }
      }
      pos = (pos + 1) & cap_mask;
    }
  }

  // Control side. `masked` is the rule's match value restricted to the
  // subtable's words, `hash` its hash as the subtable computes it.
  // Throws std::invalid_argument when a rule with the same match and
  // priority is already present.
  void insert(std::uint32_t hash, const std::uint64_t* masked, RulePtr rule);
  // Removes the rule with that id; false when it is not here.
  bool remove(std::uint32_t hash, const std::uint64_t* masked, const ClassifierRule& rule);
  // Swaps `old` for `updated`, which must have the same match, priority and
  // seq (a modify of actions); false when `old` is not here.
  bool replace(std::uint32_t hash, const std::uint64_t* masked, const ClassifierRule& old,
               RulePtr updated);
  [[nodiscard]] const ClassifierRule* find_strict(std::uint32_t hash, const std::uint64_t* masked,
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
  void recompute_max_rank() noexcept;

  std::size_t key_words_;
  std::size_t stride_;
  std::uint32_t capacity_;  // power of two
  std::size_t heads_count_ = 0;
  std::uint64_t max_rank_ = 0;
  std::vector<std::uint32_t> hashes_;
  std::vector<std::uint64_t> records_;
  std::vector<RulePtr> heads_;  // owns what records_ points at
  std::vector<Shadowed> shadowed_;
};

}  // namespace sockswitch::flowtable
