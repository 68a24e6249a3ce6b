// flowtable/probe_plan.h: the read path of one Classifier version, flat.
//
// The subtables and segments of a version are separate heap objects shared
// with other versions (classifier.h, VERSIONS). Walking them on every
// lookup costs a chain of dependent loads per subtable: subtable, its
// segment array, the segment object, then the tables. A ProbePlan is built
// once per version, when the builder finishes it, and holds what a lookup
// reads in two contiguous arrays:
//
//   probes_  one entry per subtable, in visit order (max rank descending):
//            its max rank, the words its mask uses and their mask bits, and
//            where its segments' views start in views_;
//   views_   one SegmentView per segment: plain pointers to its prefilter,
//            slot hashes and records.
//
// so a probe is: hash the masked words, load one view, test one prefilter
// word; only a key that passes the filter touches the segment's tables.
//
// `consulted` is the union of the masks of the subtables visited. Visits
// are always a prefix of probes_ (the search only ever stops early), so
// unions_[i] holds the union of the masks of probes 0..i and a lookup ORs
// one precomputed mask at the end instead of a few words per subtable.
//
// The views point into segments owned by the Classifier's subtables, which
// no one edits once published (copy-on-write); a ProbePlan is only valid
// together with them, so it is a private member of Classifier. It holds
// indices, not pointers, into its own arrays, so copying it is safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "flowtable/classifier_rule.h"
#include "flowtable/flow_key.h"
#include "flowtable/subtable.h"
#include "flowtable/subtable_hash.h"
#include "flowtable/subtable_segment.h"

namespace sockswitch::flowtable {

class ProbePlan final {
 public:
  ProbePlan() = default;
  // `by_rank`: the non-empty subtables, max rank descending.
  explicit ProbePlan(const std::vector<std::shared_ptr<Subtable>>& by_rank);

  [[nodiscard]] std::size_t size() const noexcept { return probes_.size(); }

  // The highest-ranked rule matching `key`, or nullptr; ORs into `consulted`
  // the masks of the subtables visited (see classifier.h).
  [[nodiscard]] const ClassifierRule* lookup(const FlowKey& key,
                                             FlowMask& consulted) const noexcept {
    const ClassifierRule* best = nullptr;
    std::uint64_t best_rank = 0;
    const Probe* const first = probes_.data();
    const Probe* const last = first + probes_.size();
    const Probe* p = first;
    for (; p != last; ++p) {
      // Ranks are unique, so a subtable whose best rank is not above the
      // best so far cannot change the answer; nor can any after it.
      if (p->max_rank <= best_rank) break;
      std::array<std::uint64_t, kKeyWords> masked;
      std::uint64_t h = 0;
      for (std::size_t i = 0; i < p->word_count; ++i) {
        masked[i] = key.w[p->words[i]] & p->mask_words[i];
        h += subtable_hash::mix(i, masked[i]);
      }
      h = subtable_hash::finish(h);  // as subtable_hash::hash_words
      const SegmentView& v = views_[p->view_base + subtable_hash::segment_of(h, p->segment_mask)];
      const SubtableHit hit = v.may_contain(h) ? v.find_in_table(h, masked.data()) : SubtableHit{};
      // Branch-free on purpose: whether a subtable beats the best so far is
      // unpredictable when priorities are mixed.
      const bool better = hit.rank > best_rank;
      best_rank = better ? hit.rank : best_rank;
      best = better ? hit.rule : best;
    }
    if (p != first) or_into(consulted, unions_[static_cast<std::size_t>(p - first) - 1]);
    return best;
  }

 private:
  // consulted |= src, 16 bytes at a time (GCC -O2 does not vectorize).
  static void or_into(FlowMask& dst, const FlowMask& src) noexcept {
    using V = std::uint64_t __attribute__((vector_size(16)));
    static_assert(kKeyWords % 2 == 0);
    for (std::size_t i = 0; i < kKeyWords; i += 2) {
      V a, b;
      std::memcpy(&a, &dst.w[i], sizeof a);
      std::memcpy(&b, &src.w[i], sizeof b);
      a |= b;
      std::memcpy(&dst.w[i], &a, sizeof a);
    }
  }

  struct Probe {
    std::uint64_t max_rank;
    std::uint32_t view_base;     // index of segment 0's view in views_
    std::uint32_t segment_mask;  // segment count - 1
    std::uint8_t word_count;
    std::array<std::uint8_t, kKeyWords> words;
    std::array<std::uint64_t, kKeyWords> mask_words;
  };

  std::vector<Probe> probes_;
  std::vector<SegmentView> views_;
  std::vector<FlowMask> unions_;
};

}  // namespace sockswitch::flowtable
