// control/trace_command.cc: install a flow file into a real FlowTable and ask
// its classifier which flow a described packet hits, following resubmit and
// goto_table into later tables the way the dataplane will.
#include "control/trace_command.h"

#include <ostream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "control/port_arguments.h"
#include "flowtable/flow_parser.h"
#include "flowtable/flow_printer.h"
#include "flowtable/flow_table.h"

namespace sockswitch::control {
namespace {

using namespace sockswitch::flowtable;

// Bounds a resubmit loop written into a table (OVS bounds it too).
constexpr int kMaxResubmitDepth = 64;

struct Step {
  std::uint8_t table;
  const ClassifierRule* rule;  // nullptr: table miss
};

// Table 0 first, then each resubmit/goto_table of the matched rules in
// action order (depth-first, as they would execute).
void walk(const FlowTableVersion& version, FlowKey key, std::uint8_t table, int depth,
          std::vector<Step>& steps) {
  FlowMask consulted;
  const ClassifierRule* rule = version.lookup(table, key, consulted);
  steps.push_back({table, rule});
  if (rule == nullptr || depth >= kMaxResubmitDepth) return;
  for (const Action& a : rule->flow.actions) {
    if (a.kind == ActionKind::goto_table) {
      walk(version, key, a.table, depth + 1, steps);
    } else if (a.kind == ActionKind::resubmit) {
      FlowKey k = key;
      if (a.port != kPortInPort) k.set(FieldId::in_port, to_u32(a.port));
      walk(version, k, a.table == kAllTables ? table : a.table, depth + 1,
           steps);  // 255: this table
    }
  }
}

nlohmann::json step_json(const Step& s, const PortMap& ports) {
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

int trace(const TraceRequest& request, std::ostream& out, std::ostream& err) {
  try {
    PortMap ports = port_map_from_arguments(request.ports);
    const std::string text = read_text_file(request.flows_file);
    const FlowFile file = parse_flow_file(text, request.flows_file, ports);
    if (!file.errors.empty()) {
      for (const FlowError& e : file.errors)
        err << e.what() << "\n";
      return 1;
    }
    const FlowRule packet =
        parse_flow(request.packet, ports, FlowSyntax::packet, {"<packet>", 1, 1});

    std::vector<FlowMod> mods;
    for (const ParsedFlow& f : file.flows)
      mods.push_back({FlowModCommand::add, f.rule});
    FlowTable table;
    table.apply(mods);

    std::vector<Step> steps;
    walk(*table.current(), packet.match.value, 0, 0, steps);

    if (request.json) {
      nlohmann::json j = step_json(steps.front(), ports);
      if (steps.size() > 1) {
        j["resubmits"] = nlohmann::json::array();
        for (std::size_t i = 1; i < steps.size(); ++i)
          j["resubmits"].push_back(step_json(steps[i], ports));
      }
      out << j.dump() << "\n";
      return 0;
    }
    for (const Step& s : steps) {
      if (s.rule == nullptr)
        out << fmt::format("table {}: no match (table miss: drop)\n", s.table);
      else
        out << fmt::format("table {}: {}\n", s.table, format_flow(s.rule->flow, ports));
    }
    return 0;
  } catch (const std::exception& e) {
    err << e.what() << "\n";
    return 1;
  }
}

}  // namespace sockswitch::control
