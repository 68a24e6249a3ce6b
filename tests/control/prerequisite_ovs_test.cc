// tests/control/prerequisite_ovs_test.cc: every field's prerequisite chain
// against the installed ovs-ofctl.
//
// ovs-fields(7) gives each field a prerequisite (tp_dst needs TCP, UDP or
// SCTP; nd_sll needs an ICMPv6 neighbour solicitation with code 0), and OVS
// enforces it in its parser: a field whose chain is not met is refused or,
// more often, silently dropped from the match. sockswitch refuses instead,
// with the reason. This test writes every matchable field after every
// context that can make or break its chain (protocol shorthands, dl_type and
// nw_proto spelled out, ICMPv6 types and codes) and holds the two parsers to
// one rule: where sockswitch accepts, OVS keeps the field and prints the
// same match; where sockswitch refuses, OVS refuses, drops the field or
// silently changes what it means (`udp,tcp_dst=1` becomes `udp,tp_dst=1`,
// `tcp,nw_proto=1` becomes `icmp`).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "flowtable/field_syntax.h"
#include "flowtable/flow_error.h"
#include "flowtable/flow_parser.h"
#include "flowtable/flow_printer.h"
#include "tests/net/command.h"
#include "tests/net/skip.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;
using flowtable::FieldSyntax;
using flowtable::FieldView;
using flowtable::FlowSyntax;
using flowtable::PortMap;

constexpr const char* kOfctlBinary = "/usr/bin/ovs-ofctl";

// Each context either meets a chain, meets part of it, or meets another.
const std::vector<std::string> kContexts = {
    "",
    "ip",
    "ipv6",
    "arp",
    "rarp",
    "tcp",
    "udp",
    "sctp",
    "icmp",
    "tcp6",
    "udp6",
    "sctp6",
    "icmp6",
    "dl_type=0x0800,nw_proto=6",
    "dl_type=0x86dd,nw_proto=17",
    "dl_type=0x0800,nw_proto=1",
    "dl_type=0x0806",
    "ip,nw_proto=132",
    "ip,nw_proto=47",
    "ipv6,nw_proto=58",
    "icmp6,icmp_type=135",
    "icmp6,icmp_type=136",
    "icmp6,icmp_type=128",
    "icmp6,icmp_type=135,icmp_code=0",
    "icmp6,icmp_type=135,icmp_code=1",
    "icmp6,icmp_type=136,icmp_code=3",
    "ipv6,nw_proto=58,icmp_type=136",
    "icmp,icmp_type=135",
};

// A value the field's view accepts, in range for every width it has.
std::string sample(const FieldSyntax& f) {
  switch (f.view) {
    case FieldView::mac:
      return "00:11:22:33:44:55";
    case FieldView::ipv4:
      return "10.0.0.1";
    case FieldView::ipv6:
      return "fe80::1";
    case FieldView::tos:
      return "8";
    case FieldView::frag:
      return "first";
    case FieldView::tcp_flags:
      return "+syn";
    case FieldView::ct_state:
      return "+trk";
    default:
      return "1";
  }
}

// The comma-separated terms of a match ("tcp", "nw_src=10.0.0.1", ...).
std::vector<std::string> terms(const std::string& match) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < match.size()) {
    std::size_t end = match.find(',', at);
    if (end == std::string::npos) end = match.size();
    out.push_back(match.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

// Whether the context already writes the field's storage (`tcp` and
// nw_proto): a field given twice is another rule than a prerequisite, which
// the parser's own tests hold.
bool context_sets(const std::string& context, const FieldSyntax& f) {
  for (const std::string& term : terms(context)) {
    const std::size_t eq = term.find('=');
    if (eq == std::string::npos) {
      // A shorthand with a protocol (`tcp6`) writes ip_proto.
      if (f.storage == flowtable::FieldId::ip_proto && term != "ip" && term != "ipv6" &&
          term != "arp" && term != "rarp")
        return true;
      continue;
    }
    const FieldSyntax* given = flowtable::find_field_syntax(term.substr(0, eq));
    if (given != nullptr && given->storage == f.storage) return true;
  }
  return false;
}

struct OvsParse {
  bool ok = false;
  std::string match;  // as OVS prints it, without " actions=..."
  std::string output;
};

OvsParse ovs_parse_flow(const std::string& line) {
  const net::CommandResult r = net::run_command({kOfctlBinary, "parse-flow", line}, 5s);
  OvsParse p{.ok = r.ok(), .match = "", .output = r.output};
  const std::size_t add = r.output.find("_FLOW_MOD");
  const std::size_t start = r.output.find("ADD ", add);
  if (!p.ok || add == std::string::npos || start == std::string::npos) {
    p.ok = false;
    return p;
  }
  const std::size_t end = r.output.find(" actions=", start);
  p.match = r.output.substr(start + 4, end - start - 4);
  if (p.match == "actions=drop") p.match.clear();  // an empty match
  return p;
}

std::string context_line(const std::string& context, const std::string& term) {
  return (context.empty() ? term : context + "," + term) + ",actions=drop";
}

// Two names mean the same when they write the same bits under the same
// prerequisite (nw_src and ip_src; not tp_src and tcp_src, nor arp_sha and
// nd_sll).
bool same_meaning(const FieldSyntax& a, const FieldSyntax& b) {
  return a.storage == b.storage && a.view == b.view && a.prereq == b.prereq;
}

// Whether OVS's match still holds the field with the meaning it was
// written with, under any of its names.
bool ovs_keeps(const OvsParse& ovs, const FieldSyntax& f) {
  if (!ovs.ok) return false;
  for (const std::string& term : terms(ovs.match)) {
    const FieldSyntax* s = flowtable::find_field_syntax(term.substr(0, term.find('=')));
    if (s != nullptr && (same_meaning(*s, f) || same_meaning(*s, flowtable::arp_view_of(f))))
      return true;
  }
  return false;
}

// The name OVS knows for a field: sockswitch also takes the OXM spelling
// ipv4_src/ipv4_dst, which ovs-ofctl has no keyword for.
std::string_view ovs_name(const FieldSyntax& f) {
  if (f.name == "ipv4_src") return "nw_src";
  if (f.name == "ipv4_dst") return "nw_dst";
  return f.name;
}

TEST(PrerequisiteOvs, EveryFieldInEveryContextIsAcceptedOnlyWhereOvsKeepsIt) {
  if (::access(kOfctlBinary, X_OK) != 0) SOCKSWITCH_SKIP("ovs-ofctl is not installed");
  const PortMap numbers;
  int accepted = 0;
  int refused = 0;
  for (const FieldSyntax& f : flowtable::field_syntaxes()) {
    if (!f.matchable || f.prereq == flowtable::Prereq::none) continue;
    for (const std::string& context : kContexts) {
      if (context_sets(context, f)) continue;
      const std::string line = context_line(context, fmt::format("{}={}", f.name, sample(f)));
      SCOPED_TRACE(line);
      PortMap ports;
      std::string ours;
      std::string why;
      try {
        ours =
            flowtable::format_match(flowtable::parse_flow(line, ports, FlowSyntax::add), numbers);
      } catch (const flowtable::FlowError& e) {
        why = e.what();
      }
      const OvsParse ovs =
          ovs_parse_flow(context_line(context, fmt::format("{}={}", ovs_name(f), sample(f))));
      if (why.empty()) {
        ++accepted;
        EXPECT_TRUE(ovs.ok && ovs.match == ours)
            << "sockswitch keeps [" << ours
            << "], OVS: " << (ovs.ok ? "[" + ovs.match + "]" : "refuses: " + ovs.output);
        continue;
      }
      ++refused;
      // Refused: OVS refuses too, drops the field, or silently gives its
      // value another meaning (tcp_dst under udp becomes tp_dst).
      EXPECT_FALSE(ovs_keeps(ovs, f))
          << "sockswitch refuses (" << why << "), OVS keeps [" << ovs.match << "]";
      // The refusal names the field, so a user knows which one broke.
      EXPECT_NE(why.find(std::string(f.name)), std::string::npos) << why;
    }
  }
  // Both outcomes occur for a real share of the pairs.
  EXPECT_GT(accepted, 100);
  EXPECT_GT(refused, 300);
}

}  // namespace
}  // namespace sockswitch::test
