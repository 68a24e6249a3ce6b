// control/openflow/ofp_reg_actions.h: Nicira's REG_LOAD and REG_MOVE, for load: and move:.
//
// A REG_LOAD of a whole field is the set_field it means (ovs-ofctl sends
// OpenFlow 1.0 set_fields that way); one of part of a field is `load:`.
// REG_MOVE is `move:`. Fields are named by their NXM headers and checked
// as flow text checks them (subfield.h): what may be written, what the
// match must say.
#pragma once

#include "control/openflow/ofp_wire.h"
#include "flowtable/action.h"
#include "flowtable/match.h"

namespace sockswitch::control::openflow {

inline constexpr std::uint16_t kNxRegMove = 6;

// `body`: the action after its subtype.
[[nodiscard]] flowtable::Action decode_reg_load(WireReader& body, const flowtable::Match& match);
[[nodiscard]] flowtable::Action decode_reg_move(WireReader& body, const flowtable::Match& match);
// What follows the subtype of a `load:` (REG_LOAD) or `move:` (REG_MOVE).
void encode_reg_body(WireWriter& w, const flowtable::Action& a, const flowtable::Match& match);

}  // namespace sockswitch::control::openflow
