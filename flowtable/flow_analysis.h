// flowtable/flow_analysis.h: what a person should know about a flow table
// before installing it.
//
// Two findings, both about rules that do not do what their line says:
//
// * Overlap: two rules of one table at the same priority that both match
//   some packet. OpenFlow leaves the winner undefined; sockswitch picks the
//   one added first, deterministically, but a table that relies on it is
//   fragile. The seed VPS table has one: `tcp,tp_dst=443` and
//   `in_port=veth102` both match Xray's own outbound HTTPS. Each finding
//   carries a witness: a packet description both rules match.
//
// * Shadow: a rule that can never match, because rules that win over it
//   (higher priority, or equal priority and added earlier) together cover
//   every packet it matches. Coverage by several rules is decided by ternary
//   cube subtraction (the rule's match minus each winner, in turn); since that
//   can blow up, it gives up past a bound and then reports nothing rather
//   than guess.
//
// Packets are bit patterns here, so a cube left over that no real packet can
// have (an IPv6 field under an IPv4 EtherType) still counts as reachable:
// the analysis may miss a shadow, it never invents one.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "flowtable/flow_rule.h"

namespace sockswitch::flowtable {

struct FlowOverlap {
  std::size_t first;   // index of the rule added first (the one that wins)
  std::size_t second;  // index of the rule added later
  Match witness;       // a packet both match
};

struct FlowShadow {
  std::size_t shadowed;         // index of the rule that can never match
  std::vector<std::size_t> by;  // the winning rules that overlap it
};

struct FlowAnalysis {
  std::vector<FlowOverlap> overlaps;
  std::vector<FlowShadow> shadows;
};

// `rules` in installation order (earlier index = added first). Rules in
// different tables never interact.
[[nodiscard]] FlowAnalysis analyze_flows(std::span<const FlowRule> rules);

// Whether some packet matches both.
[[nodiscard]] bool overlaps(const Match& a, const Match& b) noexcept;

// Whether every packet matching `inner` also matches `outer`.
[[nodiscard]] bool covers(const Match& outer, const Match& inner) noexcept;

}  // namespace sockswitch::flowtable
