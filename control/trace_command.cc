// control/trace_command.cc: install a flow file into a real FlowTable and run
// a described packet through the dataplane's executor against it, with an
// empty MAC table (NORMAL floods) and an empty connection table.
#include "control/trace_command.h"

#include <ostream>
#include <vector>

#include "control/flow_trace.h"
#include "control/port_arguments.h"
#include "flowtable/flow_parser.h"
#include "flowtable/flow_table.h"

namespace sockswitch::control {
using namespace sockswitch::flowtable;
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
    std::vector<FlowMod> mods;
    for (const ParsedFlow& f : file.flows)
      mods.push_back({FlowModCommand::add, f.rule});
    FlowTable table;
    table.apply(mods);

    dataplane::MacLearningTable mac;
    dataplane::Conntrack conntrack(1024);
    dataplane::BridgeSnapshot bridge = offline_snapshot(table.current(), ports, mac);
    bridge.conntrack = &conntrack;
    out << trace_report(bridge, request.packet, ports, request.json);
    return 0;
  } catch (const std::exception& e) {
    err << e.what() << "\n";
    return 1;
  }
}

}  // namespace sockswitch::control
