// flowtable/flow_rule.h: one flow as a person writes it: where it lives,
// what it matches, what it does, and its bookkeeping fields.
#pragma once

#include <cstdint>

#include "flowtable/action.h"
#include "flowtable/match.h"

namespace sockswitch::flowtable {

inline constexpr std::uint16_t kDefaultPriority = 32768;
inline constexpr std::uint8_t kTableCount = 255;  // tables 0..254

struct FlowRule {
  std::uint8_t table = 0;
  std::uint16_t priority = kDefaultPriority;
  Match match;
  ActionList actions;  // empty: drop
  std::uint64_t cookie = 0;
  std::uint64_t cookie_mask = 0;  // only in delete/modify requests ("cookie=V/M")
  std::uint16_t idle_timeout = 0;
  std::uint16_t hard_timeout = 0;
  // OpenFlow's OFPFF_SEND_FLOW_REM (`send_flow_rem` in flow text): tell
  // OpenFlow clients when the flow goes (timeout or delete).
  bool send_flow_removed = false;

  friend bool operator==(const FlowRule&, const FlowRule&) = default;
};

}  // namespace sockswitch::flowtable
