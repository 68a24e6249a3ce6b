// control/openflow/ofp_conntrack.h: Nicira's ct() and ct_clear actions on the wire.
//
// NXAST_CT carries the flags, the zone, the table the tracked copy
// continues in and, nested, the actions of exec(): OVS writes a set_field
// of ct_mark there as an OpenFlow 1.3 SET_FIELD or a Nicira REG_LOAD(2).
// What sockswitch does not carry out yet (force, alg, a zone from a field,
// ct_label, nat) is refused by name, as in flow text.
#pragma once

#include "control/openflow/ofp_wire.h"
#include "flowtable/action.h"
#include "flowtable/match.h"

namespace sockswitch::control::openflow {

inline constexpr std::uint16_t kNxCt = 35, kNxCtClear = 43;

// `body`: the action after its subtype. Checks it against `match` as flow text is.
[[nodiscard]] flowtable::Action decode_ct(WireReader& body, const flowtable::Match& match);
// Writes what follows the subtype.
void encode_ct_body(WireWriter& w, const flowtable::Action& a, bool v10);

}  // namespace sockswitch::control::openflow
