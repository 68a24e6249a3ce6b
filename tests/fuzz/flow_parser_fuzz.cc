// tests/fuzz/flow_parser_fuzz.cc: libFuzzer target for the flow parser.
//
// Any input must either parse or throw FlowError (nothing else escapes, no
// crash, no sanitizer report), and whatever parses must print to text that
// parses back to the same rule in the same syntax (the printer's promise).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "flowtable/flow_parser.h"
#include "flowtable/flow_printer.h"

namespace {

using namespace sockswitch::flowtable;

PortMap fuzz_ports() {
  PortMap ports;
  ports.add("veth102", PortNo{1});
  ports.add("warp0", PortNo{2});
  ports.add("nm-privacy", PortNo{3});
  ports.add("p#4", PortNo{4});
  return ports;
}

void check_round_trip(std::string_view text, FlowSyntax syntax) {
  PortMap ports = fuzz_ports();
  FlowRule rule;
  try {
    rule = parse_flow(text, ports, syntax);
  } catch (const FlowError&) {
    return;
  }
  const std::string printed = format_flow(rule, ports, syntax);
  FlowRule again;
  try {
    again = parse_flow(printed, ports, syntax);
  } catch (const FlowError& e) {
    std::fprintf(stderr, "reparse failed: '%.*s' -> '%s': %s\n", int(text.size()), text.data(),
                 printed.c_str(), e.what());
    std::abort();
  }
  if (!(again == rule) || format_flow(again, ports, syntax) != printed) {
    std::fprintf(stderr, "round trip mismatch: '%.*s' -> '%s' -> '%s'\n", int(text.size()),
                 text.data(), printed.c_str(), format_flow(again, ports, syntax).c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (FlowSyntax syntax : {FlowSyntax::add, FlowSyntax::match, FlowSyntax::packet})
    check_round_trip(text, syntax);
  PortMap ports = fuzz_ports();
  (void)parse_flow_file(text, "fuzz", ports);
  return 0;
}
