// flowtable/classifier_builder.h: makes the next Classifier version.
//
// Starts empty (bulk construction) or from a published Classifier, whose
// subtables and segments it shares until it edits them (copy-on-write, see
// classifier.h, VERSIONS). The published base is never written to. Once
// build() is called the builder is spent.
//
// Control thread only. Edits may throw (std::invalid_argument for a rule the
// table cannot hold, std::bad_alloc); a builder that threw is left
// consistent but should usually be discarded, which leaves the base as it
// was.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "flowtable/classifier.h"

namespace sockswitch::flowtable {

class ClassifierBuilder final {
 public:
  ClassifierBuilder() = default;
  explicit ClassifierBuilder(const Classifier& base);

  // Adds a flow, numbering it with the next id and seq. Throws
  // std::invalid_argument when the match breaks value & mask == value or a
  // rule with the same match and priority exists.
  const ClassifierRule& insert(FlowRule flow);
  // Adds a rule numbered by the caller (seq must be below kSeqLimit and
  // should be unique; ids must be unique).
  void insert(RulePtr rule);
  // Removes the rule with this match, priority and id; false if absent.
  bool remove(const ClassifierRule& rule);
  // Replaces `old` by `updated` (same match, priority, seq); false if absent.
  bool replace(const ClassifierRule& old, RulePtr updated);

  [[nodiscard]] const ClassifierRule* find_strict(const Match& match,
                                                  std::uint16_t priority) const noexcept;
  template <class F>
  void for_each_loose(const Match& filter, F&& f) const {
    for (const auto& st : subtables_)
      Classifier::visit_loose(*st, filter, f);
  }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  // The new version. The builder is left empty.
  [[nodiscard]] Classifier build();

 private:
  struct MaskHash {
    std::size_t operator()(const FlowMask& m) const noexcept;
  };
  // The subtable for `mask`, copied first if a published version shares it;
  // created when `create`, else nullptr when there is none.
  Subtable* writable_subtable(const FlowMask& mask, bool create);
  [[nodiscard]] const Subtable* subtable(const FlowMask& mask) const noexcept;

  std::vector<std::shared_ptr<Subtable>> subtables_;
  std::unordered_map<FlowMask, std::size_t, MaskHash> by_mask_;
  std::size_t size_ = 0;
  std::uint32_t next_id_ = 1;
  std::uint64_t next_seq_ = 1;
};

}  // namespace sockswitch::flowtable
