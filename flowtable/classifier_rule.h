// flowtable/classifier_rule.h: one flow as the classifier holds it.
//
// A FlowRule plus the two numbers the classifier adds: a RuleId, stable for
// the life of the rule (through versions and through a modify that only
// changes actions), so that per-flow counters kept elsewhere can be keyed by
// it; and a sequence number that orders rules of equal priority (the one
// added first wins, so lookups are deterministic).
//
// Rules are shared between versions through RulePtr: a new version that does
// not touch a rule points at the very same object.
#pragma once

#include <cstdint>
#include <memory>

#include "flowtable/flow_counters.h"
#include "flowtable/flow_rule.h"

namespace sockswitch::flowtable {

enum class RuleId : std::uint32_t {};

[[nodiscard]] constexpr std::uint32_t to_u32(RuleId id) noexcept {
  return static_cast<std::uint32_t>(id);
}

struct ClassifierRule {
  FlowRule flow;
  RuleId id{0};
  std::uint64_t seq = 0;
  // Shared by copies: a modify copies the rule and so keeps its counts.
  std::shared_ptr<FlowCounters> counters = std::make_shared<FlowCounters>();
};

using RulePtr = std::shared_ptr<const ClassifierRule>;

// Sequence numbers must stay below this so that a rank (below) fits in 64 bits.
inline constexpr std::uint64_t kSeqLimit = (std::uint64_t{1} << 48) - 1;

// The total order of rules as one integer: higher priority first, then lower
// seq first. Ranks are unique per rule and never zero, which lets the lookup
// compare one integer per candidate instead of two fields.
[[nodiscard]] constexpr std::uint64_t rank_of(std::uint16_t priority, std::uint64_t seq) noexcept {
  return (std::uint64_t{priority} << 48) | (kSeqLimit - seq);
}
[[nodiscard]] constexpr std::uint64_t rank_of(const ClassifierRule& r) noexcept {
  return rank_of(r.flow.priority, r.seq);
}

}  // namespace sockswitch::flowtable
