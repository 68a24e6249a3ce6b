// flowtable/flow_table.h: all OpenFlow tables of one bridge, as versions.
//
// FlowTableVersion is what poll threads read: one immutable Classifier per
// table in use (0..254) and lookup(table, key, consulted). It is never
// changed after it is published.
//
// FlowTable is the control thread's handle. It applies batches of flow mods
// with `ovs-ofctl` semantics and publishes exactly one new version per
// batch, so a reader sees either none or all of a batch (bundle-like). A
// batch is validated as a whole before anything is touched; a batch that
// throws leaves the published version and the counters as they were.
//
// Semantics (OpenFlow 1.1+ as OVS implements them):
//   add            same table+match+priority as an existing rule: replace it
//                  (fresh id and seq, counters reset); else insert.
//   modify         every rule (in the table, or all tables for 255) at least
//                  as specific as the request's match, cookie matching under
//                  cookie_mask: actions replaced, id/seq/cookie/counters kept.
//   modify_strict  the one rule with exactly that match and priority.
//   del            as modify's selection, priority ignored; removed.
//   del_strict     as modify_strict's selection; removed.
// modify never adds a rule when nothing is selected. Mods within a batch
// apply in order, each seeing the effect of the previous ones.
//
// Counters: poll threads count into each rule's FlowCounters (one slot per
// thread); stats() sums them, plus any deltas the control thread folded in
// with add_stats() (e.g. counts a driver reports on its own).
//
// Threads: current() may be called from any thread (atomic load). All other
// member functions are for the control thread only.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>

#include "flowtable/classifier.h"
#include "flowtable/flow_mod.h"
#include "flowtable/flow_stats.h"

namespace sockswitch::flowtable {

class FlowTableVersion final {
 public:
  FlowTableVersion() = default;

  [[nodiscard]] const ClassifierRule* lookup(std::uint8_t table, const FlowKey& key,
                                             FlowMask& consulted) const noexcept {
    const Classifier* c = tables_[table].get();
    return c == nullptr ? nullptr : c->lookup(key, consulted);
  }
  // The table's classifier; an empty one for a table with no rules.
  [[nodiscard]] const Classifier& table(std::uint8_t table) const noexcept;
  // Total rules over all tables.
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  // Counts published versions of this FlowTable, starting at 0 (empty).
  [[nodiscard]] std::uint64_t number() const noexcept { return number_; }

 private:
  friend class FlowTable;
  std::array<std::shared_ptr<const Classifier>, kTableCount> tables_{};  // null: empty
  std::size_t size_ = 0;
  std::uint64_t number_ = 0;
};

// A flow a batch deleted that asked to be reported (send_flow_removed),
// with its counters at that moment.
struct RemovedFlow {
  FlowRule rule;
  FlowStats stats;
};

class FlowTable final {
 public:
  FlowTable();

  // The published version (any thread).
  [[nodiscard]] std::shared_ptr<const FlowTableVersion> current() const noexcept {
    return current_.load(std::memory_order_acquire);
  }

  // Applies the batch in order and publishes one version. Throws
  // std::invalid_argument (naming the mod's index) when any mod is invalid;
  // then nothing changes.
  // Returns the deleted flows that asked to be reported (an add that
  // replaces a flow does not delete it, as in OpenFlow).
  std::vector<RemovedFlow> apply(std::span<const FlowMod> batch);
  std::vector<RemovedFlow> apply(const FlowMod& mod) {
    return apply(std::span<const FlowMod>(&mod, 1));
  }

  // Counters of a rule in the current version, or nullopt for an unknown id.
  [[nodiscard]] std::optional<FlowStats> stats(RuleId id) const;
  // Control side, at least once a second: rules whose packet count grew
  // since the last call were used at `now` (FlowStats::last_used, what
  // idle_timeout and idle_age go by).
  void note_use(std::chrono::steady_clock::time_point now) noexcept;
  // Folds per-thread deltas in; deltas for rules deleted since are dropped.
  void add_stats(std::span<const FlowStatsDelta> deltas) noexcept;

 private:
  std::atomic<std::shared_ptr<const FlowTableVersion>> current_;
  // What stats() adds up: deltas folded in by add_stats() plus the rule's
  // own per-thread counters.
  struct Counted {
    FlowStats base;
    std::shared_ptr<FlowCounters> counters;
    std::uint64_t seen_packets = 0;  // the count note_use() last saw
  };
  std::unordered_map<RuleId, Counted> stats_;
  std::uint32_t next_id_ = 1;
  std::uint64_t next_seq_ = 1;
};

}  // namespace sockswitch::flowtable
