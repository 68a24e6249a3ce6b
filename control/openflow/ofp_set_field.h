// control/openflow/ofp_set_field.h: one field written by an action, as a
// TLV (OpenFlow 1.3 SET_FIELD, Nicira REG_LOAD and REG_LOAD2).
#pragma once

#include "control/openflow/ofp_wire.h"
#include "flowtable/action.h"
#include "flowtable/match.h"

namespace sockswitch::control::openflow {

// The TLV decoded against the flow's match, giving the action the flow text
// `set_field:V->F` gives. Throws OfpError (unknown field, a prerequisite
// the match lacks, a mask).
[[nodiscard]] flowtable::Action decode_set_field(WireReader& tlv, const flowtable::Match& match);
// The TLV for a set_field-like action, chosen by the match (tcp_src or
// udp_src, arp_spa or ipv4_src). Throws std::invalid_argument when the
// action writes nothing a TLV can say.
void encode_set_field(WireWriter& w, const flowtable::Action& a, const flowtable::Match& match,
                      bool oxm);

}  // namespace sockswitch::control::openflow
