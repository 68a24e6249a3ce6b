// flowtable/flow_printer.h: FlowRule to canonical `ovs-ofctl dump-flows` text.
//
// Canonical means: parse_flow(format_flow(r)) == r, fields in one fixed order
// (priority, protocol shorthand, in_port, then L2 → L4), default values left
// out, ports by name where the map has one.
#pragma once

#include <string>

#include "flowtable/flow_parser.h"
#include "flowtable/flow_rule.h"
#include "flowtable/port_map.h"

namespace sockswitch::flowtable {

// "priority=100,tcp,tp_dst=443" (no leading space, no actions). An empty match
// at default priority prints as "".
[[nodiscard]] std::string format_match(const FlowRule& rule, const PortMap& ports);

// "output:veth102,normal" or "drop" for an empty list.
[[nodiscard]] std::string format_actions(const ActionList& actions, const PortMap& ports);
[[nodiscard]] std::string format_action(const Action& action, const PortMap& ports);

// The full line without statistics, as `ovs-ofctl --no-stats dump-flows`:
// "[cookie=0x..., ][table=N, ]priority=100,tcp,tp_dst=443 actions=output:veth102"
// (cookie/table/timeouts only when not zero).
[[nodiscard]] std::string format_flow(const FlowRule& rule, const PortMap& ports);

// As format_flow, for a rule read in `syntax`, so that parsing the text in the
// same syntax gives the rule back: `match` prints `table=N` unless N is 255
// (all tables) and a cookie mask; `packet` prints only the match.
[[nodiscard]] std::string format_flow(const FlowRule& rule, const PortMap& ports,
                                      FlowSyntax syntax);

// A port number as flow text: its name, a reserved name, or the number. A
// name that would read back as something else (a reserved name, a number,
// one with separators) prints as its number.
[[nodiscard]] std::string format_port(PortNo port, const PortMap& ports);

}  // namespace sockswitch::flowtable
