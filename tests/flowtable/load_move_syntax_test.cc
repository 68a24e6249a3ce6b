// tests/flowtable/load_move_syntax_test.cc: load: and move: in flow text.
//
// Plan: the forms ovs-ofctl writes (NXM names, plain names, [], [N],
// [A..B]) parse, print with NXM names and read back to the same flow; a
// whole-field load is the set_field it means; what cannot be written, a
// field the match does not guarantee, widths that differ, a value too wide
// and the 128-bit fields are refused with the reason.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "flowtable/flow_parser.h"
#include "flowtable/flow_printer.h"
#include "tests/flowtable/flow_test_ports.h"

namespace sockswitch::flowtable {
namespace {

TEST(LoadMoveSyntax, PrintAsOvsOfctlAndReadBack) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"tcp,actions=load:3->NXM_NX_REG0[0..1],move:NXM_OF_TCP_SRC[]->reg1[16..31]",
       "tcp actions=load:0x3->NXM_NX_REG0[0..1],move:NXM_OF_TCP_SRC[]->NXM_NX_REG1[16..31]"},
      {"udp,actions=move:NXM_OF_UDP_DST[]->NXM_OF_UDP_SRC[],load:1->metadata[63]",
       "udp actions=move:NXM_OF_UDP_DST[]->NXM_OF_UDP_SRC[],load:0x1->OXM_OF_METADATA[63]"},
      {"ip,actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],load:0x7->NXM_OF_IP_SRC[0..7]",
       "ip actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],load:0x7->NXM_OF_IP_SRC[0..7]"},
      {"ip,actions=move:NXM_NX_CT_MARK[0..7]->NXM_NX_REG2[0..7],move:NXM_OF_IN_PORT[]->reg3[0..15]",
       "ip "
       "actions=move:NXM_NX_CT_MARK[0..7]->NXM_NX_REG2[0..7],move:NXM_OF_IN_PORT[]->NXM_NX_REG3[0.."
       "15]"},
      {"actions=load:5->NXM_NX_REG4[]", "actions=set_field:0x5->reg4"},
  };
  PortMap ports = test::seed_ports();
  for (const auto& [line, canonical] : cases) {
    SCOPED_TRACE(line);
    const FlowRule rule = parse_flow(line, ports, FlowSyntax::add);
    EXPECT_EQ(format_flow(rule, ports), canonical);
    EXPECT_EQ(parse_flow(canonical, ports, FlowSyntax::add), rule);
  }
}

TEST(LoadMoveSyntax, WhatCannotBeDoneIsRefusedWithTheReason) {
  const std::vector<std::pair<std::string, std::string>> refused = {
      {"actions=load:1->NXM_OF_ETH_TYPE[]", "NXM_OF_ETH_TYPE cannot be written"},
      {"actions=move:NXM_NX_REG0[]->NXM_NX_CT_MARK[]", "NXM_NX_CT_MARK cannot be written"},
      {"actions=load:1->NXM_OF_TCP_DST[0..3]", "NXM_OF_TCP_DST needs tcp or tcp6 in the match"},
      {"ip,actions=move:NXM_NX_REG0[0..3]->NXM_NX_REG1[0..4]",
       "the source has 4 bits and the destination 5"},
      {"actions=load:0x10->NXM_NX_REG0[0..3]", "out of range 0..15"},
      {"actions=load:1->NXM_NX_REG0[30..33]", "not within its 32 bits"},
      {"ipv6,actions=load:1->NXM_NX_IPV6_SRC[0..7]", "128-bit fields are not supported yet"},
      {"actions=load:1->NXM_NX_BOGUS[]", "'NXM_NX_BOGUS' is not a field load/move can use"},
      {"actions=load:1->reg0", "is not a field with bits"},
      {"actions=move:reg0[]", "move needs SRC[bits]->DST[bits]"},
  };
  PortMap ports = test::seed_ports();
  for (const auto& [text, message] : refused) {
    SCOPED_TRACE(text);
    try {
      (void)parse_flow(text, ports, FlowSyntax::add);
      ADD_FAILURE() << "accepted";
    } catch (const FlowError& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace sockswitch::flowtable
