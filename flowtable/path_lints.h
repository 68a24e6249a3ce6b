// flowtable/path_lints.h: what a multi-table, stateful table does along its paths.
//
// The overlap and shadow findings (flow_analysis.h) look at one table at a
// time. These follow packets from table 0 through resubmit, goto_table and
// ct(table=N), and find what op-dbus's security table gets wrong as
// written (its issue traced each on OVS 3.1):
//
// * a jump to a table that has no flow: every packet sent there is dropped;
// * untracked packets (no ct() on their way, or ct_clear) sent on to a
//   table where a flow matching ct_state=-trk takes them: usually a drop
//   of traffic that was meant to be tracked first;
// * connection tracking that nothing commits: without a reachable
//   ct(commit) no connection ever exists, so every tracked packet is +new
//   and a ct_state=+est (or +rpl) flow never matches.
//
// Each finding names the flows (by index) and, where it is about packets,
// a witness: a packet description that takes that path.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "flowtable/flow_rule.h"

namespace sockswitch::flowtable {

struct EmptyTableJump {
  std::size_t from;    // the rule whose action jumps
  std::uint8_t table;  // the table with no flow
};

struct UntrackedTaken {
  std::size_t sender;  // the rule that sends untracked packets on
  std::size_t taker;   // the -trk rule that takes them there
  Match witness;
};

struct NeverEstablished {
  std::vector<std::size_t> lookups;  // rules with ct()
  std::vector<std::size_t> waiting;  // rules matching +est or +rpl
};

struct PathFindings {
  std::vector<EmptyTableJump> empty_jumps;
  std::vector<UntrackedTaken> untracked;
  std::vector<NeverEstablished> never_established;  // at most one
};

// `rules` in installation order, as analyze_flows takes them.
[[nodiscard]] PathFindings lint_paths(std::span<const FlowRule> rules);

}  // namespace sockswitch::flowtable
