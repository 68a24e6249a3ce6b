// flowtable/subtable.h: every rule of one classifier that has one mask.
//
// Tuple-space search keeps one subtable per distinct mask. Rules in it
// differ only in their (masked) value, so a lookup is one hash probe:
// hash key & mask, compare, done. Only the words the mask uses are read,
// hashed and compared (`words_` lists them), which is what makes a subtable
// on, say, in_port+eth_type cost one word.
//
// Lookups do not go through this class: a published version copies what
// they need (words, mask bits, segment views) into its ProbePlan.
//
// The hash table is sharded into SubtableSegments by the top hash bits and
// held by shared_ptr, so a copy of a Subtable (a new version) shares every
// segment until it edits one (copy-on-write; see ClassifierBuilder).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "flowtable/classifier_rule.h"
#include "flowtable/flow_key.h"
#include "flowtable/subtable_segment.h"

namespace sockswitch::flowtable {

class Subtable final {
 public:
  explicit Subtable(const FlowMask& mask);

  [[nodiscard]] const FlowMask& mask() const noexcept { return mask_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  // The rank of the best rule in here; 0 when empty.
  [[nodiscard]] std::uint64_t max_rank() const noexcept { return max_rank_; }

  // What the lookup path copies into a version's ProbePlan: the words the
  // mask uses and their mask bits, and a view of each segment.
  [[nodiscard]] std::size_t word_count() const noexcept { return word_count_; }
  [[nodiscard]] std::uint8_t word(std::size_t i) const noexcept { return words_[i]; }
  [[nodiscard]] std::uint64_t mask_word(std::size_t i) const noexcept { return mask_words_[i]; }
  [[nodiscard]] std::size_t segment_count() const noexcept { return segments_.size(); }
  [[nodiscard]] SegmentView segment_view(std::size_t i) const noexcept {
    return segments_[i]->view();
  }

  // Control side (see SubtableSegment for the contracts).
  [[nodiscard]] const ClassifierRule* find_strict(const Match& match,
                                                  std::uint16_t priority) const noexcept;
  void insert(RulePtr rule);
  bool remove(const ClassifierRule& rule);
  bool replace(const ClassifierRule& old, RulePtr updated);

  template <class F>
  void for_each(F&& f) const {
    for (const auto& s : segments_)
      s->for_each(f);
  }

 private:
  struct Located {
    std::array<std::uint64_t, kKeyWords> masked;
    std::uint64_t hash;
  };
  [[nodiscard]] Located locate(const FlowKey& value) const noexcept;
  // The segment for `hash`, copied first if another version shares it.
  SubtableSegment& writable_segment(std::uint64_t hash);
  void resegment(std::size_t segment_count);
  void recompute_max_rank() noexcept;

  FlowMask mask_;
  std::size_t word_count_ = 0;
  std::array<std::uint8_t, kKeyWords> words_{};
  std::array<std::uint64_t, kKeyWords> mask_words_{};
  std::uint64_t segment_mask_ = 0;  // segment count - 1, a power of two - 1
  std::vector<std::shared_ptr<SubtableSegment>> segments_;
  std::size_t size_ = 0;
  std::uint64_t max_rank_ = 0;
};

}  // namespace sockswitch::flowtable
