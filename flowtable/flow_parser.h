// flowtable/flow_parser.h: `ovs-ofctl` flow text to FlowRule.
//
// Accepts what `ovs-ofctl add-flow`/`del-flows` accept for OpenFlow 1.3 basic
// fields (classic and OXM names), and is stricter than OVS where OVS would
// silently change a flow's meaning: a field whose prerequisite is missing and
// a value out of its field's range are errors, never dropped or truncated.
//
// Errors are FlowError (file, line, column, token). Nothing is partially
// parsed: a call either returns a complete rule or throws.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "flowtable/flow_error.h"
#include "flowtable/flow_rule.h"
#include "flowtable/port_map.h"

namespace sockswitch::flowtable {

enum class FlowSyntax : std::uint8_t {
  add,     // add-flow: "actions=" required; cookie without mask
  match,   // del-flows/mod-flows/trace: actions optional, "cookie=V/M" allowed
  packet,  // trace's packet description: fields only, no priority/actions
};

// Parses one flow. `where` gives the file and line; its column is the column
// of text[0] in that line, so error columns point into the original line.
[[nodiscard]] FlowRule parse_flow(std::string_view text, PortMap& ports, FlowSyntax syntax,
                                  const SourcePos& where = {"<command line>", 1, 1});

struct ParsedFlow {
  FlowRule rule;
  SourcePos pos;     // where the flow's text starts
  std::string text;  // the line as written, without comment or surrounding space
};

struct FlowFile {
  std::vector<ParsedFlow> flows;
  std::vector<FlowError> errors;  // one per bad line; when non-empty, install nothing
};

// An `ovs-ofctl add-flows` file: one flow per line, `#` comments, blank lines.
[[nodiscard]] FlowFile parse_flow_file(std::string_view contents, std::string_view file_name,
                                       PortMap& ports, FlowSyntax syntax = FlowSyntax::add);

}  // namespace sockswitch::flowtable
