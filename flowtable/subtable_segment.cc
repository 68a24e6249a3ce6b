// flowtable/subtable_segment.cc: the control-side edits of a segment,
// keeping its hash table and its prefilter in step.
#include "flowtable/subtable_segment.h"

#include <algorithm>
#include <bit>
#include <stdexcept>
#include <utility>

namespace sockswitch::flowtable {
namespace {

constexpr std::uint32_t kMinCapacity = 8;

std::uint32_t capacity_for(std::size_t rules) {
  std::size_t cap = kMinCapacity;
  while (cap < rules * 2)
    cap *= 2;
  return static_cast<std::uint32_t>(cap);
}

std::size_t filter_words_for(std::uint32_t capacity) {
  return std::max<std::size_t>(1, capacity / 16);
}

}  // namespace

SubtableSegment::SubtableSegment(std::size_t key_words, std::size_t expected_rules)
    : key_words_(key_words),
      stride_(kKeyOffset + key_words),
      capacity_(capacity_for(expected_rules)),
      filter_(filter_words_for(capacity_), 0),
      hashes_(capacity_, 0),
      records_(std::size_t{capacity_} * stride_, 0),
      heads_(capacity_) {}

std::size_t SubtableSegment::slot_of(std::uint32_t hash,
                                     const std::uint64_t* masked) const noexcept {
  const std::uint32_t cap_mask = capacity_ - 1;
  for (std::uint32_t pos = hash & cap_mask;; pos = (pos + 1) & cap_mask) {
    if (hashes_[pos] == 0) return capacity_;
    if (hashes_[pos] == hash &&
        same_key(&records_[std::size_t{pos} * stride_ + kKeyOffset], masked))
      return pos;
  }
}

void SubtableSegment::add_to_filter(std::uint64_t h) noexcept {
  const std::uint32_t word =
      subtable_hash::filter_word(subtable_hash::slot_hash(h), (capacity_ - 1) >> 4);
  filter_[word] |= subtable_hash::filter_bits(h);
}

void SubtableSegment::refresh_filter_word(std::uint32_t word) noexcept {
  const std::uint32_t cap_mask = capacity_ - 1;
  const std::uint32_t filter_mask = cap_mask >> 4;
  // Heads whose home slot is in [first, first + 16) sit between `first` and
  // the first empty slot at or after the end of that range (linear probing
  // leaves no gap between a key's home and its slot).
  const std::uint32_t first = (word << 4) & cap_mask;
  const std::uint32_t span = std::min<std::uint32_t>(16, capacity_);
  std::uint64_t bits = 0;
  for (std::uint32_t step = 0; step < capacity_; ++step) {
    const std::uint32_t pos = (first + step) & cap_mask;
    const std::uint32_t hash = hashes_[pos];
    if (hash == 0) {
      if (step >= span) break;
      continue;
    }
    if (subtable_hash::filter_word(hash, filter_mask) != word) continue;
    const std::uint64_t h =
        subtable_hash::hash_words(&records_[std::size_t{pos} * stride_ + kKeyOffset], key_words_);
    bits |= subtable_hash::filter_bits(h);
  }
  filter_[word] = bits;
}

void SubtableSegment::set_head(std::size_t slot, RulePtr rule) {
  std::uint64_t* rec = &records_[slot * stride_];
  rec[0] = rank_of(*rule);
  rec[1] = reinterpret_cast<std::uint64_t>(rule.get());
  heads_[slot] = std::move(rule);
}

void SubtableSegment::grow() {
  SubtableSegment bigger(key_words_, std::size_t{capacity_});  // doubles the capacity
  for (std::size_t i = 0; i < capacity_; ++i) {
    if (hashes_[i] == 0) continue;
    const std::uint32_t cap_mask = bigger.capacity_ - 1;
    std::uint32_t pos = hashes_[i] & cap_mask;
    while (bigger.hashes_[pos] != 0)
      pos = (pos + 1) & cap_mask;
    bigger.hashes_[pos] = hashes_[i];
    std::copy_n(&records_[i * stride_], stride_, &bigger.records_[std::size_t{pos} * stride_]);
    bigger.heads_[pos] = std::move(heads_[i]);
    bigger.add_to_filter(
        subtable_hash::hash_words(&records_[i * stride_ + kKeyOffset], key_words_));
  }
  capacity_ = bigger.capacity_;
  filter_ = std::move(bigger.filter_);
  hashes_ = std::move(bigger.hashes_);
  records_ = std::move(bigger.records_);
  heads_ = std::move(bigger.heads_);
}

void SubtableSegment::insert(std::uint64_t h, const std::uint64_t* masked, RulePtr rule) {
  const std::uint32_t hash = subtable_hash::slot_hash(h);
  const std::uint64_t rank = rank_of(*rule);
  const std::size_t slot = slot_of(hash, masked);
  if (slot != capacity_) {
    const RulePtr& head = heads_[slot];
    bool duplicate = head->flow.priority == rule->flow.priority;
    for (const Shadowed& s : shadowed_)
      if (s.slot_hash == hash && s.rule->flow.priority == rule->flow.priority &&
          s.rule->flow.match.value == rule->flow.match.value)
        duplicate = true;
    if (duplicate)
      throw std::invalid_argument("classifier: a rule with this match and priority already exists");
    if (rank > rank_of(*head)) {
      shadowed_.push_back({hash, std::move(heads_[slot])});
      set_head(slot, std::move(rule));
    } else {
      shadowed_.push_back({hash, std::move(rule)});
    }
    max_rank_ = std::max(max_rank_, rank);
    return;
  }
  if ((heads_count_ + 1) * 4 > capacity_) grow();
  const std::uint32_t cap_mask = capacity_ - 1;
  std::uint32_t pos = hash & cap_mask;
  while (hashes_[pos] != 0)
    pos = (pos + 1) & cap_mask;
  hashes_[pos] = hash;
  std::copy_n(masked, key_words_, &records_[std::size_t{pos} * stride_ + kKeyOffset]);
  set_head(pos, std::move(rule));
  add_to_filter(h);
  ++heads_count_;
  max_rank_ = std::max(max_rank_, rank);
}

// Backward-shift deletion keeps every probe chain unbroken without tombstones.
void SubtableSegment::erase_slot(std::size_t slot) {
  const std::uint32_t cap_mask = capacity_ - 1;
  std::size_t hole = slot;
  for (std::size_t next = (hole + 1) & cap_mask; hashes_[next] != 0; next = (next + 1) & cap_mask) {
    const std::size_t home = hashes_[next] & cap_mask;
    // The entry at `next` may move into the hole only if its home is not in
    // the cyclic range (hole, next].
    const bool home_after_hole = ((next - home) & cap_mask) < ((next - hole) & cap_mask);
    if (home_after_hole) continue;
    hashes_[hole] = hashes_[next];
    std::copy_n(&records_[next * stride_], stride_, &records_[hole * stride_]);
    heads_[hole] = std::move(heads_[next]);
    hole = next;
  }
  hashes_[hole] = 0;
  std::fill_n(&records_[hole * stride_], stride_, 0);
  heads_[hole].reset();
  --heads_count_;
}

bool SubtableSegment::remove(std::uint64_t h, const std::uint64_t* masked,
                             const ClassifierRule& rule) {
  const std::uint32_t hash = subtable_hash::slot_hash(h);
  const std::size_t slot = slot_of(hash, masked);
  if (slot == capacity_) return false;
  const std::uint64_t rank = rank_of(rule);
  if (heads_[slot]->id == rule.id) {
    // Promote the best shadowed rule with the same match, if any.
    auto best = shadowed_.end();
    for (auto it = shadowed_.begin(); it != shadowed_.end(); ++it)
      if (it->slot_hash == hash && it->rule->flow.match.value == rule.flow.match.value &&
          (best == shadowed_.end() || rank_of(*it->rule) > rank_of(*best->rule)))
        best = it;
    if (best != shadowed_.end()) {
      set_head(slot, std::move(best->rule));
      shadowed_.erase(best);
    } else {
      erase_slot(slot);
      refresh_filter_word(subtable_hash::filter_word(hash, (capacity_ - 1) >> 4));
    }
  } else {
    auto it = std::find_if(shadowed_.begin(), shadowed_.end(),
                           [&](const Shadowed& s) { return s.rule->id == rule.id; });
    if (it == shadowed_.end()) return false;
    shadowed_.erase(it);
  }
  if (rank == max_rank_) recompute_max_rank();
  return true;
}

bool SubtableSegment::replace(std::uint64_t h, const std::uint64_t* masked,
                              const ClassifierRule& old, RulePtr updated) {
  const std::size_t slot = slot_of(subtable_hash::slot_hash(h), masked);
  if (slot == capacity_) return false;
  if (heads_[slot]->id == old.id) {
    set_head(slot, std::move(updated));
    return true;
  }
  for (Shadowed& s : shadowed_) {
    if (s.rule->id == old.id) {
      s.rule = std::move(updated);
      return true;
    }
  }
  return false;
}

const ClassifierRule* SubtableSegment::find_strict(std::uint64_t h, const std::uint64_t* masked,
                                                   std::uint16_t priority) const noexcept {
  const std::uint32_t hash = subtable_hash::slot_hash(h);
  const std::size_t slot = slot_of(hash, masked);
  if (slot == capacity_) return nullptr;
  const ClassifierRule* head = heads_[slot].get();
  if (head->flow.priority == priority) return head;
  for (const Shadowed& s : shadowed_)
    if (s.slot_hash == hash && s.rule->flow.priority == priority &&
        s.rule->flow.match.value == head->flow.match.value)
      return s.rule.get();
  return nullptr;
}

void SubtableSegment::recompute_max_rank() noexcept {
  max_rank_ = 0;
  for (std::size_t i = 0; i < capacity_; ++i)
    if (hashes_[i] != 0) max_rank_ = std::max(max_rank_, records_[i * stride_]);
  // A shadowed rule never outranks the head that shadows it.
}

}  // namespace sockswitch::flowtable
