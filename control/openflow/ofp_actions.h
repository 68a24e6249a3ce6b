// control/openflow/ofp_actions.h: action lists on the wire, to and from
// the flow table's ActionList.
//
// OpenFlow 1.0 actions, 1.3 actions inside 1.3 instructions, and the
// Nicira actions `ovs-ofctl` uses for what the standard lacks (resubmit,
// dec_ttl, register loads). Decoded actions are checked against the flow's
// match and table exactly as flow text is (a rewrite whose header the
// match does not guarantee is OFPBAC_MATCH_INCONSISTENT), and an action
// sockswitch cannot carry out is refused with an error, never dropped.
#pragma once

#include <cstdint>

#include "control/openflow/ofp_wire.h"
#include "flowtable/flow_rule.h"

namespace sockswitch::control::openflow {

// The actions of a 1.0 message, or of one 1.3 APPLY_ACTIONS instruction
// (or a 1.3 PACKET_OUT): all of `r`. `rule` gives the match and table.
[[nodiscard]] flowtable::ActionList decode_actions(WireReader& r, std::uint8_t version,
                                                   const flowtable::FlowRule& rule);
// 1.3 instructions: APPLY_ACTIONS, GOTO_TABLE (last), CLEAR_ACTIONS (no-op:
// there is never an action set to clear); others refused.
[[nodiscard]] flowtable::ActionList decode_instructions(WireReader& r,
                                                        const flowtable::FlowRule& rule);

// 1.0: the action list. 1.3: the instructions.
void encode_actions(WireWriter& w, const flowtable::ActionList& actions, std::uint8_t version,
                    const flowtable::Match& match);

}  // namespace sockswitch::control::openflow
