// flowtable/flow_stats.h: the counters of one flow, as the control side
// keeps them (keyed by RuleId, so they survive any version change that
// keeps the rule).
#pragma once

#include <chrono>
#include <cstdint>

#include "flowtable/classifier_rule.h"

namespace sockswitch::flowtable {

struct FlowStats {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  std::chrono::steady_clock::time_point installed{};
  // When the control side last saw the packet count grow (FlowTable::
  // note_use, at least once a second; never read from the packet path).
  std::chrono::steady_clock::time_point last_used{};
};

// What a poll thread saw for one rule since it last reported.
struct FlowStatsDelta {
  RuleId id{0};
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
};

}  // namespace sockswitch::flowtable
