// flowtable/classifier.h: one OpenFlow table, the priority classifier.
//
// WHAT IT HOLDS
//
// A Classifier is the set of flows of one OpenFlow table. Each flow
// (ClassifierRule) has a match (value under mask), a priority, and a
// sequence number. Given the header fields of a packet (a FlowKey), lookup()
// returns the flow whose match the key satisfies with the highest priority;
// among flows of equal priority that both match, the one added first (lower
// seq) wins, so the answer never depends on hash order or memory layout.
//
// A Classifier is immutable: it is one version of the table. Changes are
// made by a ClassifierBuilder, which produces a new Classifier and leaves the
// old one untouched (see VERSIONS below).
//
// WHY LOOKUP RETURNS THE BITS IT CONSULTED
//
// The dataplane caches decisions as megaflows: "every packet whose key equals
// K on the bits of M gets this answer", installed as (K & M, M). For that to
// be correct, M must contain every bit the classifier's decision depended on.
// lookup() therefore ORs into `consulted` the mask of every subtable it
// probed, hit or miss, since a miss in a higher-priority subtable is also a
// fact the answer rests on. The two possible errors are not alike:
//
//   - a bit that was read but is left out of M makes the megaflow match
//     packets the classifier would have answered differently: packets are
//     forwarded wrongly. This must never happen.
//   - an extra bit in M only makes the megaflow narrower than necessary:
//     more cache misses, never a wrong answer.
//
// So the classifier errs on the side of extra bits: it reports whole
// subtable masks, not the few bits that actually told a candidate apart.
// (OVS narrows this further with prefix tries and staged hashing; we do not
// do either yet.)
//
// DESIGN: TUPLE-SPACE SEARCH
//
// Rules are grouped by mask. All rules with the same mask live in one
// Subtable, a hash table from "value & mask" to the best rule with that
// masked value (rules that share match but have lower priority wait behind
// it). A lookup visits subtables and, in each, hashes key & mask over only
// the words that mask uses, then probes once. Most probes miss, so each
// segment keeps a small prefilter (a blocked Bloom filter) that answers most
// misses without touching its hash table, and a version flattens what the
// lookup reads into one ProbePlan (probe_plan.h) so that a probe does not
// chase pointers through the shared structure.
//
// Subtables are visited in decreasing order of the best rule they contain
// (its "rank": priority, then seq). Once a match of rank R is in hand, a
// subtable whose best rank is below R cannot improve on it, and neither can
// any subtable after it, so the search stops there. Tables where priority
// follows specificity (the usual way flows are written) therefore visit a
// few subtables; tables with random priorities across many masks visit all.
//
// COMPLEXITY
//
// lookup: O(S) hash probes for S subtables in the worst case, each O(w) in
// the number w of 64-bit words its mask uses, with expected O(1) probe
// length (load factor <= 1/4; ~99% of misses end at the prefilter). No
// allocation, no locks, no exceptions.
// Building from n rules: O(n) expected. A builder edit of one rule: O(1)
// expected plus the cost of copying the touched segment (a few hundred
// rules) and the subtable's segment pointers, the first time they are
// touched in a version. Finishing a version sorts the S subtables and
// flattens them into the ProbePlan, O(S + segments).
//
// VERSIONS
//
// The control thread builds version N+1 beside N (ClassifierBuilder from N)
// while poll threads keep reading N without locks; it then publishes N+1
// (FlowTable does so with an atomic shared_ptr), and N is freed when its
// last reader lets go. Versions share structure: subtables are held by
// shared_ptr and each subtable's hash table is cut into segments, also held
// by shared_ptr. A builder copies a subtable, and within it a segment, only
// when it first edits it, so changing one flow of 100 000 copies one segment
// and one subtable's pointer array, not the table. Rules themselves are
// shared (RulePtr); a modify of actions makes a new ClassifierRule with the
// same id and seq.
//
// THREADS
//
// A published Classifier is read-only, and any number of threads may call
// its const member functions concurrently. ClassifierBuilder is used by one
// thread (the control thread); it never writes to anything a published
// Classifier can reach: shared pieces are copied before they are edited.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "flowtable/classifier_rule.h"
#include "flowtable/flow_key.h"
#include "flowtable/match.h"
#include "flowtable/probe_plan.h"
#include "flowtable/subtable.h"

namespace sockswitch::flowtable {

class Classifier final {
 public:
  Classifier() = default;  // the empty table

  // ---- Readers (any thread, lock-free) ------------------------------------

  // The highest-ranked rule matching `key`, or nullptr. ORs into
  // `consulted` the masks of the subtables it probed (see above).
  [[nodiscard]] const ClassifierRule* lookup(const FlowKey& key,
                                             FlowMask& consulted) const noexcept {
    return plan_.lookup(key, consulted);
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] std::size_t subtable_count() const noexcept { return plan_.size(); }

  // The rule with exactly this match and priority, or nullptr.
  [[nodiscard]] const ClassifierRule* find_strict(const Match& match,
                                                  std::uint16_t priority) const noexcept;

  // Every rule, highest rank first (priority descending, then seq ascending).
  [[nodiscard]] std::vector<const ClassifierRule*> rules() const;

  // Calls f(rule) for every rule at least as specific as `filter`: the
  // filter's mask is a subset of the rule's and the rule agrees with the
  // filter's value on it (OpenFlow's non-strict modify/delete). Unordered.
  template <class F>
  void for_each_loose(const Match& filter, F&& f) const {
    for (const auto& st : subtables_)
      visit_loose(*st, filter, f);
  }

  // The next unused id and seq, for builders that number rules themselves.
  [[nodiscard]] std::uint32_t next_id() const noexcept { return next_id_; }
  [[nodiscard]] std::uint64_t next_seq() const noexcept { return next_seq_; }

  // ---- Single-rule derivations (control thread) ---------------------------
  // Each returns a new version sharing every untouched subtable/segment.

  [[nodiscard]] Classifier with_added(FlowRule flow) const;
  [[nodiscard]] Classifier with_removed(const ClassifierRule& rule) const;

  template <class F>
  static void visit_loose(const Subtable& st, const Match& filter, F& f) {
    if (!filter.mask.subset_of(st.mask())) return;
    st.for_each([&](const ClassifierRule& r) {
      if (masked(r.flow.match.value, filter.mask) == filter.value) f(r);
    });
  }

 private:
  friend class ClassifierBuilder;
  std::vector<std::shared_ptr<Subtable>> subtables_;  // never edited once published
  ProbePlan plan_;  // the lookup path over subtables_, by max rank descending
  std::size_t size_ = 0;
  std::uint32_t next_id_ = 1;
  std::uint64_t next_seq_ = 1;
};

}  // namespace sockswitch::flowtable
