// flowtable/action_parser.h: the text after `actions=` to an ActionList.
//
// Actions are checked against the flow they belong to: a rewrite needs the
// match to guarantee the header it rewrites (OVS requires this for OpenFlow
// 1.3: `mod_nw_src` needs `ip`, `mod_tp_dst` needs tcp/udp/sctp, `dec_ttl`
// needs ip or ipv6), and `goto_table` must go forward from the flow's table.
//
// Reserved ports are normalised to their own kinds: `output:NORMAL` and
// `normal` are the same action, as in OVS, and print as `NORMAL`.
// `set_field` onto a VLAN view becomes mod_vlan_vid/mod_vlan_pcp and onto
// ip_dscp becomes mod_nw_tos: each pair does the same thing to a packet, so
// one representation each keeps equal actions equal.
#pragma once

#include <string_view>

#include "flowtable/action.h"
#include "flowtable/flow_error.h"
#include "flowtable/flow_rule.h"
#include "flowtable/port_map.h"

namespace sockswitch::flowtable {

// `text` starts at `column` of `where`'s line. `rule` supplies the match and
// table the actions are checked against (rule.table 255: any table).
[[nodiscard]] ActionList parse_actions(std::string_view text, int column, const FlowRule& rule,
                                       PortMap& ports, const SourcePos& where);

}  // namespace sockswitch::flowtable
