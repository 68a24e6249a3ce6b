// control/flow_trace.h: what the switch does with a described packet.
//
// Shared by the offline `sockswitch trace` and the daemon's `ctl trace`. The
// packet is built into a real frame (trace_frame.h) and run through the
// dataplane's own ActionExecutor in its trace mode (dataplane/trace_log.h),
// against a snapshot of the bridge whose MAC table and connection table are
// private copies: what is reported is what the executor did, step by step,
// and where the packet finally went or why it died.
//
// The offline trace has an empty MAC table (NORMAL floods); `ctl trace`
// starts from a copy of the live one, so NORMAL says which port it chose.
// Either way ct() sees the packet as the first of a new connection.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataplane/bridge.h"
#include "dataplane/trace_log.h"
#include "flowtable/port_map.h"

namespace sockswitch::control {

struct TraceResult {
  flowtable::FlowKey packet;  // as the frame was built and received
  std::vector<dataplane::TraceEvent> events;
  bool truncated = false;
  bool live = false;  // a real packet (ctl trace --live), with the live connection table
};

// Runs `packet` (in_port set in its key) through `bridge`, a snapshot the
// caller owns and may change (its MAC table is written by NORMAL).
[[nodiscard]] TraceResult trace_packet(const dataplane::BridgeSnapshot& bridge,
                                       const flowtable::Match& packet);

// `flows`: the table the packet was traced in (the events point into it).
// One object: the first lookup's `table`, `priority`, `match`, `actions`
// and `cookie` (null for a miss), `resubmits` (the later lookups, in the
// same shape), `steps` (every event in order), `outputs` and `verdict`.
[[nodiscard]] nlohmann::json trace_json(const TraceResult& result,
                                        const flowtable::FlowTableVersion& flows,
                                        const flowtable::PortMap& ports);
// The same as lines: one per lookup and action, indented by depth, and the
// verdict last.
[[nodiscard]] std::string trace_text(const TraceResult& result,
                                     const flowtable::FlowTableVersion& flows,
                                     const flowtable::PortMap& ports);

// The whole answer of both commands, so that they cannot drift apart:
// `packet` ("in_port=warp0,tcp,tp_dst=443") parsed with `ports`, traced
// through `bridge`, rendered as one line of JSON or as text. Throws
// flowtable::FlowError for a bad description, std::invalid_argument for
// one no frame can carry.
[[nodiscard]] std::string trace_report(const dataplane::BridgeSnapshot& bridge,
                                       std::string_view packet, flowtable::PortMap& ports,
                                       bool json);

// A snapshot to trace against for a table with no running bridge behind it
// (`sockswitch trace`): every port of `ports` with no device, and `mac`
// as its MAC table.
[[nodiscard]] dataplane::BridgeSnapshot offline_snapshot(
    std::shared_ptr<const flowtable::FlowTableVersion> flows, const flowtable::PortMap& ports,
    dataplane::MacLearningTable& mac);

}  // namespace sockswitch::control
