// flowtable/flow_mod.h: one OpenFlow flow-table modification request.
//
// The commands of `ovs-ofctl add-flow / mod-flows / del-flows` (with and
// without --strict). The request's FlowRule says where (table; 255 = all
// tables for modify and delete), what to select (match, priority for the
// strict forms, cookie under cookie_mask) and, for add and modify, the
// actions.
#pragma once

#include <cstdint>

#include "flowtable/flow_rule.h"

namespace sockswitch::flowtable {

enum class FlowModCommand : std::uint8_t { add, modify, modify_strict, del, del_strict };

inline constexpr std::uint8_t kAllTables = 255;

struct FlowMod {
  FlowModCommand command = FlowModCommand::add;
  FlowRule rule;
};

}  // namespace sockswitch::flowtable
