// control/flows_check_command.cc: parse a flow file as `add-flows` would
// install it, print the resulting table in canonical form, and explain what
// in it does not do what its lines say (overlaps, shadowed flows).
#include "control/flows_check_command.h"

#include <algorithm>
#include <ostream>

#include <fmt/format.h>

#include "control/port_arguments.h"
#include "flowtable/flow_analysis.h"
#include "flowtable/flow_parser.h"
#include "flowtable/flow_printer.h"
#include "flowtable/path_lints.h"

namespace sockswitch::control {
namespace {

using flowtable::FlowRule;
using flowtable::ParsedFlow;
using flowtable::PortMap;

bool same_slot(const FlowRule& a, const FlowRule& b) {
  return a.table == b.table && a.priority == b.priority && a.match == b.match;
}

// The flows as installed by add-flows: a later flow with the same table,
// priority and match replaces the earlier one.
std::vector<ParsedFlow> installed(const std::vector<ParsedFlow>& flows, const std::string& file,
                                  std::ostream& out) {
  std::vector<ParsedFlow> table;
  for (const ParsedFlow& f : flows) {
    auto old = std::find_if(table.begin(), table.end(),
                            [&](const ParsedFlow& t) { return same_slot(t.rule, f.rule); });
    if (old != table.end()) {
      out << fmt::format(
          "{}:{}:{}: warning: replaces the flow on line {} (same priority and match)\n", file,
          f.pos.line, f.pos.column, old->pos.line);
      table.erase(old);
    }
    table.push_back(f);
  }
  return table;
}

void print_table(const std::vector<ParsedFlow>& table, const PortMap& ports, std::ostream& out) {
  std::vector<const ParsedFlow*> order;
  for (const ParsedFlow& f : table)
    order.push_back(&f);
  std::stable_sort(order.begin(), order.end(), [](const ParsedFlow* a, const ParsedFlow* b) {
    if (a->rule.table != b->rule.table) return a->rule.table < b->rule.table;
    return a->rule.priority > b->rule.priority;
  });
  for (const ParsedFlow* f : order)
    out << " " << flowtable::format_flow(f->rule, ports) << "\n";
}

// Jumps to empty tables, untracked packets taken as -trk, tracking that
// nothing commits (path_lints.h). Returns how many warnings it printed.
std::size_t print_path_findings(const std::vector<ParsedFlow>& table,
                                const std::vector<FlowRule>& rules, const PortMap& ports,
                                const std::string& file, std::ostream& out) {
  const flowtable::PathFindings found = flowtable::lint_paths(rules);
  for (const flowtable::EmptyTableJump& j : found.empty_jumps) {
    const ParsedFlow& f = table[j.from];
    out << fmt::format(
        "{}:{}:{}: warning: sends packets to table {}, which has no flow: they are dropped there\n"
        "    line {}: {}\n",
        file, f.pos.line, f.pos.column, j.table, f.pos.line, f.text);
  }
  for (const flowtable::UntrackedTaken& u : found.untracked) {
    const ParsedFlow& sender = table[u.sender];
    const ParsedFlow& taker = table[u.taker];
    FlowRule packet;
    packet.match = u.witness;
    out << fmt::format(
        "{}:{}:{}: warning: untracked packets (no ct() on their way) reach table {} and are "
        "taken as -trk; a packet so: {}\n"
        "    line {}: {}  <- sends it on untracked\n"
        "    line {}: {}{}\n",
        file, taker.pos.line, taker.pos.column, taker.rule.table,
        flowtable::format_match(packet, ports), sender.pos.line, sender.text, taker.pos.line,
        taker.text, taker.rule.actions.empty() ? "  <- drops it" : "");
  }
  for (const flowtable::NeverEstablished& n : found.never_established) {
    const ParsedFlow& first = table[n.waiting.front()];
    out << fmt::format(
        "{}:{}:{}: warning: no flow commits a connection (ct(commit)), so every tracked packet is "
        "+new and +est/+rpl never match\n",
        file, first.pos.line, first.pos.column);
    for (std::size_t i : n.lookups)
      out << fmt::format("    line {}: {}  <- tracks without committing\n", table[i].pos.line,
                         table[i].text);
    for (std::size_t i : n.waiting)
      out << fmt::format("    line {}: {}  <- never matches\n", table[i].pos.line, table[i].text);
  }
  return found.empty_jumps.size() + found.untracked.size() + found.never_established.size();
}

void print_findings(const std::vector<ParsedFlow>& table, const PortMap& ports,
                    const std::string& file, std::ostream& out) {
  std::vector<FlowRule> rules;
  for (const ParsedFlow& f : table)
    rules.push_back(f.rule);
  const flowtable::FlowAnalysis found = flowtable::analyze_flows(rules);

  for (const flowtable::FlowOverlap& o : found.overlaps) {
    const ParsedFlow& a = table[o.first];
    const ParsedFlow& b = table[o.second];
    FlowRule packet;
    packet.match = o.witness;
    const bool same_actions = a.rule.actions == b.rule.actions;
    out << fmt::format(
        "{}:{}:{}: warning: overlaps line {} at equal priority {}; a packet both match: {}\n"
        "    line {}: {}  <- wins (added first)\n"
        "    line {}: {}{}\n",
        file, b.pos.line, b.pos.column, a.pos.line, a.rule.priority,
        flowtable::format_match(packet, ports), a.pos.line, a.text, b.pos.line, b.text,
        same_actions ? "  (same actions: harmless)" : "  <- never applied to such packets");
  }
  for (const flowtable::FlowShadow& s : found.shadows) {
    const ParsedFlow& hidden = table[s.shadowed];
    out << fmt::format("{}:{}:{}: warning: flow can never match: ", file, hidden.pos.line,
                       hidden.pos.column);
    if (s.by.size() == 1) {
      out << fmt::format("line {} wins for every packet it matches\n", table[s.by[0]].pos.line);
    } else {
      out << "the flows on lines";
      for (std::size_t i : s.by)
        out << " " << table[i].pos.line;
      out << " together win for every packet it matches\n";
    }
    out << fmt::format("    line {}: {}  <- hidden\n", hidden.pos.line, hidden.text);
    for (std::size_t i : s.by)
      out << fmt::format("    line {}: {}\n", table[i].pos.line, table[i].text);
  }
  const std::size_t path_warnings = print_path_findings(table, rules, ports, file, out);
  out << fmt::format("{}: {} flows, {} overlap warnings, {} shadowed flows, {} path warnings\n",
                     file, table.size(), found.overlaps.size(), found.shadows.size(),
                     path_warnings);
}

int check_one(const std::string& file, const FlowsCheckRequest& request, std::ostream& out,
              std::ostream& err) {
  PortMap ports = port_map_from_arguments(request.ports);
  ports.set_auto_number(request.ports.empty());
  const std::string text = read_text_file(file);
  const flowtable::FlowFile parsed = flowtable::parse_flow_file(text, file, ports);
  if (!parsed.errors.empty()) {
    for (const flowtable::FlowError& e : parsed.errors)
      err << e.what() << "\n";
    err << fmt::format("{}: {} errors; nothing from this file would be installed\n", file,
                       parsed.errors.size());
    return 1;
  }
  const std::vector<ParsedFlow> table = installed(parsed.flows, file, out);
  out << file << ":\n";
  print_table(table, ports, out);
  print_findings(table, ports, file, out);
  return 0;
}

}  // namespace

int flows_check(const FlowsCheckRequest& request, std::ostream& out, std::ostream& err) {
  int status = 0;
  for (const std::string& file : request.files) {
    try {
      status |= check_one(file, request, out, err);
    } catch (const std::exception& e) {
      err << e.what() << "\n";
      status = 1;
    }
  }
  return status;
}

}  // namespace sockswitch::control
