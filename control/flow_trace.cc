// control/flow_trace.cc: the trace walk and its two renderings.
#include "control/flow_trace.h"

#include <fmt/format.h>

#include "flowtable/flow_parser.h"
#include "flowtable/flow_printer.h"
#include "flowtable/subfield.h"

namespace sockswitch::control {
namespace {

using namespace sockswitch::flowtable;

// Bounds a resubmit loop written into a table, as the dataplane does.
constexpr int kMaxDepth = 64;

void walk(const FlowTableVersion& version, FlowKey key, std::uint8_t table, int depth,
          std::vector<TraceStep>& steps) {
  FlowMask consulted;
  const ClassifierRule* rule = version.lookup(table, key, consulted);
  steps.push_back({table, rule});
  if (rule == nullptr || depth >= kMaxDepth) return;
  for (const Action& a : rule->flow.actions) {
    // Writes that steer later lookups change the key as the dataplane's do.
    if (a.kind == ActionKind::set_field && layout_of(a.field).bits <= 64) {
      key.set(a.field, a.value.lo);
    } else if (a.kind == ActionKind::load || a.kind == ActionKind::move) {
      key.set(a.field, value_after(a, key));
    } else if (a.kind == ActionKind::ct_clear) {
      for (FieldId f : {FieldId::ct_state, FieldId::ct_zone, FieldId::ct_mark})
        key.set(f, 0);
    }
    if (a.kind == ActionKind::goto_table) {
      walk(version, key, a.table, depth + 1, steps);
    } else if (a.kind == ActionKind::resubmit) {
      FlowKey k = key;
      if (a.port != kPortInPort) k.set(FieldId::in_port, to_u32(a.port));
      walk(version, k, a.table == kAllTables ? table : a.table, depth + 1,
           steps);  // 255: this table
    } else if (a.kind == ActionKind::ct && a.table != kCtNoTable) {
      // The walk has no connection table: it follows the packet as the
      // first of a new connection (+trk+new), what a fresh flow meets.
      FlowKey k = key;
      k.set(FieldId::ct_state, kCtStateTracked | kCtStateNew);
      k.set(FieldId::ct_zone, a.zone);
      k.set(FieldId::ct_mark, a.ct_flags & kCtSetMark ? a.value.lo : 0);
      walk(version, k, a.table, depth + 1, steps);
    }
  }
}

nlohmann::json step_json(const TraceStep& s, const PortMap& ports) {
  nlohmann::json j;
  j["table"] = s.table;
  if (s.rule == nullptr) {
    j["priority"] = nullptr;
    j["match"] = nullptr;
    j["actions"] = nlohmann::json::array();
    j["cookie"] = nullptr;
    return j;
  }
  FlowRule match_only = s.rule->flow;
  match_only.priority = kDefaultPriority;  // printed separately
  j["priority"] = s.rule->flow.priority;
  j["match"] = format_match(match_only, ports);
  j["actions"] = nlohmann::json::array();
  for (const Action& a : s.rule->flow.actions)
    j["actions"].push_back(format_action(a, ports));
  if (s.rule->flow.actions.empty()) j["actions"].push_back("drop");
  j["cookie"] = fmt::format("{:#x}", s.rule->flow.cookie);
  return j;
}

}  // namespace

std::vector<TraceStep> trace_packet(const FlowTableVersion& version, const FlowKey& packet) {
  std::vector<TraceStep> steps;
  walk(version, packet, 0, 0, steps);
  return steps;
}

nlohmann::json trace_json(const std::vector<TraceStep>& steps, const PortMap& ports) {
  nlohmann::json j = step_json(steps.front(), ports);
  if (steps.size() > 1) {
    j["resubmits"] = nlohmann::json::array();
    for (std::size_t i = 1; i < steps.size(); ++i)
      j["resubmits"].push_back(step_json(steps[i], ports));
  }
  return j;
}

std::string trace_text(const std::vector<TraceStep>& steps, const PortMap& ports) {
  std::string out;
  for (const TraceStep& s : steps) {
    if (s.rule == nullptr)
      out += fmt::format("table {}: no match (table miss: drop)\n", s.table);
    else
      out += fmt::format("table {}: {}\n", s.table, format_flow(s.rule->flow, ports));
  }
  return out;
}

std::string trace_report(const FlowTableVersion& version, std::string_view packet, PortMap& ports,
                         bool json) {
  const FlowRule p = parse_flow(packet, ports, FlowSyntax::packet, {"<packet>", 1, 1});
  const std::vector<TraceStep> steps = trace_packet(version, p.match.value);
  return json ? trace_json(steps, ports).dump() + "\n" : trace_text(steps, ports);
}

}  // namespace sockswitch::control
