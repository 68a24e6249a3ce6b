// flowtable/path_lints.cc: a fixpoint over (table, tracked or not) reachability.
#include "flowtable/path_lints.h"

#include <algorithm>
#include <array>
#include <optional>
#include <vector>

#include "flowtable/flow_analysis.h"
#include "flowtable/flow_mod.h"

namespace sockswitch::flowtable {
namespace {

enum Tracking : std::uint8_t { kUntracked = 1, kTracked = 2 };

// Which trackings a rule's ct_state match admits.
std::uint8_t admits(const FlowRule& r) {
  if (!(r.match.mask.get(FieldId::ct_state) & kCtStateTracked)) return kUntracked | kTracked;
  return r.match.value.get(FieldId::ct_state) & kCtStateTracked ? kTracked : kUntracked;
}

// The match without its ct fields: what a packet looks like before ct().
Match headers_only(Match m) {
  for (FieldId f : {FieldId::ct_state, FieldId::ct_zone, FieldId::ct_mark}) {
    m.value.set(f, 0);
    m.mask.set(f, 0);
  }
  return m;
}

struct Arrival {
  std::uint8_t tracking = 0;
  // The rules that send untracked packets here (none for table 0's own input).
  std::vector<std::size_t> untracked_from;
};

}  // namespace

PathFindings lint_paths(std::span<const FlowRule> rules) {
  PathFindings out;
  std::array<bool, 256> has_flows{};
  for (const FlowRule& r : rules)
    has_flows[r.table] = true;

  std::array<Arrival, 256> arrive{};
  arrive[0].tracking = kUntracked;
  bool commits = false;
  for (bool changed = true; changed;) {
    changed = false;
    for (std::size_t i = 0; i < rules.size(); ++i) {
      const FlowRule& r = rules[i];
      std::uint8_t state = arrive[r.table].tracking & admits(r);
      if (state == 0) continue;
      for (const Action& a : r.actions) {
        std::optional<std::uint8_t> to;
        std::uint8_t sends = state;
        if (a.kind == ActionKind::ct_clear) state = kUntracked;
        if (a.kind == ActionKind::ct) {
          commits |= (a.ct_flags & kCtCommit) != 0;
          if (a.table != kCtNoTable) {
            to = a.table;
            sends = kTracked;
          }
        } else if (a.kind == ActionKind::resubmit) {
          to = a.table == kAllTables ? r.table : a.table;
        } else if (a.kind == ActionKind::goto_table) {
          to = a.table;
        }
        if (!to) continue;
        Arrival& there = arrive[*to];
        if ((there.tracking | sends) != there.tracking) {
          there.tracking |= sends;
          changed = true;
        }
        auto& from = there.untracked_from;
        if (sends & kUntracked && std::find(from.begin(), from.end(), i) == from.end())
          from.push_back(i);
      }
    }
  }

  for (std::size_t i = 0; i < rules.size(); ++i) {
    const FlowRule& r = rules[i];
    if (!arrive[r.table].tracking) continue;
    for (const Action& a : r.actions) {
      std::optional<std::uint8_t> to;
      if (a.kind == ActionKind::resubmit) to = a.table == kAllTables ? r.table : a.table;
      if (a.kind == ActionKind::goto_table) to = a.table;
      if (a.kind == ActionKind::ct && a.table != kCtNoTable) to = a.table;
      if (to && !has_flows[*to]) out.empty_jumps.push_back({i, *to});
    }
  }

  for (std::size_t i = 0; i < rules.size(); ++i) {
    const FlowRule& taker = rules[i];
    const Arrival& here = arrive[taker.table];
    if (admits(taker) != kUntracked) continue;
    for (std::size_t from : here.untracked_from) {
      const Match a = headers_only(rules[from].match), b = headers_only(taker.match);
      if (!overlaps(a, b)) continue;
      Match witness;
      for (std::size_t w = 0; w < kKeyWords; ++w) {
        witness.value.w[w] = a.value.w[w] | b.value.w[w];
        witness.mask.w[w] = a.mask.w[w] | b.mask.w[w];
      }
      out.untracked.push_back({from, i, witness});
    }
  }

  if (!commits) {
    NeverEstablished n;
    for (std::size_t i = 0; i < rules.size(); ++i) {
      const FlowRule& r = rules[i];
      if (std::any_of(r.actions.begin(), r.actions.end(),
                      [](const Action& a) { return a.kind == ActionKind::ct; }))
        n.lookups.push_back(i);
      const auto mask = r.match.mask.get(FieldId::ct_state);
      const auto value = r.match.value.get(FieldId::ct_state);
      if (mask & value & (kCtStateEstablished | kCtStateReply)) n.waiting.push_back(i);
    }
    if (!n.lookups.empty() && !n.waiting.empty()) out.never_established.push_back(std::move(n));
  }
  return out;
}

}  // namespace sockswitch::flowtable
