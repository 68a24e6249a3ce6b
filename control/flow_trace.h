// control/flow_trace.h: which flows a described packet hits, table by table.
//
// Shared by the offline `sockswitch trace` and the daemon's `ctl trace`: a
// lookup in table 0 of a real FlowTableVersion, then each resubmit and
// goto_table of the matched flow in action order, depth-first and bounded,
// as the dataplane executes them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "flowtable/flow_table.h"
#include "flowtable/port_map.h"

namespace sockswitch::control {

struct TraceStep {
  std::uint8_t table;
  const flowtable::ClassifierRule* rule;  // nullptr: table miss
};

[[nodiscard]] std::vector<TraceStep> trace_packet(const flowtable::FlowTableVersion& version,
                                                  const flowtable::FlowKey& packet);

// `{"table":0,"priority":100,"match":"...","actions":[...],"cookie":"0x0"}`
// plus `"resubmits":[...]` when later tables were visited.
[[nodiscard]] nlohmann::json trace_json(const std::vector<TraceStep>& steps,
                                        const flowtable::PortMap& ports);
// One line per step: "table 0: priority=100,tcp,tp_dst=443 actions=output:veth102".
[[nodiscard]] std::string trace_text(const std::vector<TraceStep>& steps,
                                     const flowtable::PortMap& ports);

// The whole answer of both commands, so that they cannot drift apart:
// `packet` ("in_port=warp0,tcp,tp_dst=443") parsed with `ports`, traced
// through `version`, and rendered as one line of JSON or as text. Throws
// flowtable::FlowError for a bad packet.
[[nodiscard]] std::string trace_report(const flowtable::FlowTableVersion& version,
                                       std::string_view packet, flowtable::PortMap& ports,
                                       bool json);

}  // namespace sockswitch::control
