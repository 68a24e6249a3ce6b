// tests/flowtable/conntrack_syntax_test.cc: ct(), ct_clear and the ct_* matches in flow text.
//
// Plan: op-dbus's security table and the stateful forms OVS documents parse
// and print as `ovs-ofctl dump-flows` shows them (ct_state before the
// protocol, flags in bit order, ct() options in OVS's order) and read back
// to the same flow; what is not built yet (nat, force, alg, a zone from a
// field, ct_label) and what OVS refuses (ct without ip, exec without
// commit, commit under +inv, ct_mark written outside exec) is refused at
// its token with the reason.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "flowtable/flow_parser.h"
#include "flowtable/flow_printer.h"
#include "tests/flowtable/flow_test_ports.h"

namespace sockswitch::flowtable {
namespace {

const std::vector<std::pair<std::string, std::string>> kStateful = {
    {"table=0,priority=470,ip,actions=ct(table=10)", "priority=470,ip actions=ct(table=10)"},
    {"table=10,priority=500,ct_state=-trk,actions=drop",
     "table=10, priority=500,ct_state=-trk actions=drop"},
    {"table=10,priority=500,ct_state=+inv,actions=drop",
     "table=10, priority=500,ct_state=+inv actions=drop"},
    {"table=10,priority=400,ct_state=+est,actions=resubmit(,20)",
     "table=10, priority=400,ct_state=+est actions=resubmit(,20)"},
    {"table=10,priority=390,ct_state=+trk+new,ip,actions=ct(commit),normal",
     "table=10, priority=390,ct_state=+new+trk,ip actions=ct(commit),NORMAL"},
    {"priority=5,ip,actions=ct(zone=7,commit,table=3,exec(set_field:0x1->ct_mark))",
     "priority=5,ip actions=ct(commit,table=3,zone=7,exec(set_field:0x1->ct_mark))"},
    {"priority=5,ipv6,actions=ct(commit,exec(set_field:0x10/0xf0->ct_mark))",
     "priority=5,ipv6 actions=ct(commit,exec(set_field:0x10/0xf0->ct_mark))"},
    {"priority=6,ct_state=+trk+est-rpl,ct_zone=7,ct_mark=0x1/0xff,actions=ct_clear,normal",
     "priority=6,ct_state=+est-rpl+trk,ct_zone=7,ct_mark=0x1/0xff actions=ct_clear,NORMAL"},
    {"priority=6,ct_state=0x21/0x21,ip,actions=ct()",
     "priority=6,ct_state=+new+trk,ip actions=ct()"},
};

TEST(ConntrackSyntax, StatefulFlowsPrintAsOvsOfctlAndReadBack) {
  PortMap ports = test::seed_ports();
  for (const auto& [line, canonical] : kStateful) {
    SCOPED_TRACE(line);
    const FlowRule rule = parse_flow(line, ports, FlowSyntax::add);
    EXPECT_EQ(format_flow(rule, ports), canonical);
    EXPECT_EQ(parse_flow(canonical, ports, FlowSyntax::add), rule);
  }
}

TEST(ConntrackSyntax, CtFieldsAndOptionsMeanWhatTheySay) {
  PortMap ports = test::seed_ports();
  const FlowRule r = parse_flow(
      "ct_state=+trk-inv,ct_zone=9,ip,actions=ct(commit,zone=9,table=4,exec(set_field:5->ct_mark))",
      ports, FlowSyntax::add);
  EXPECT_EQ(r.match.value.get(FieldId::ct_state), kCtStateTracked);
  EXPECT_EQ(r.match.mask.get(FieldId::ct_state), kCtStateTracked | kCtStateInvalid);
  EXPECT_TRUE(r.match.is_exact(FieldId::ct_zone, 9));
  ASSERT_EQ(r.actions.size(), 1u);
  const Action& a = r.actions[0];
  EXPECT_EQ(a.kind, ActionKind::ct);
  EXPECT_EQ(a.zone, 9);
  EXPECT_EQ(a.table, 4);
  EXPECT_EQ(a.ct_flags, kCtCommit | kCtSetMark);
  EXPECT_EQ(a.value.lo, 5u);
  EXPECT_EQ(a.value.hi, 0xffffffffu);
  EXPECT_EQ(parse_flow("ip,actions=ct", ports, FlowSyntax::add).actions[0].table, kCtNoTable);
}

struct Refused {
  std::string text;
  std::string message;
};

TEST(ConntrackSyntax, WhatIsNotCarriedOutIsRefusedWithItsReason) {
  const std::vector<Refused> refused = {
      {"priority=1,actions=ct(table=1)", "ct needs ip or ipv6 in the match"},
      {"ip,actions=ct(commit,nat(src=10.0.0.1))", "ct: nat is not supported yet"},
      {"ip,actions=ct(commit,force)", "ct: force is not supported yet"},
      {"ip,actions=ct(commit,alg=ftp)", "ct: alg is not supported yet"},
      {"ip,actions=ct(zone=NXM_NX_REG0[0..15])", "from a field is not supported yet"},
      {"ip,actions=ct(exec(set_field:1->ct_mark))",
       "exec() sets fields of the connection and needs commit"},
      {"ip,actions=ct(commit,exec(set_field:1->ct_label))",
       "setting ct_label is not supported yet"},
      {"ip,actions=ct(commit,exec(set_field:1->reg0))", "exec() can set ct_mark, not 'reg0'"},
      {"ip,ct_state=+inv,actions=ct(commit)", "cannot apply to a flow that matches ct_state=+inv"},
      {"ip,actions=ct(bogus)", "ct: unknown option 'bogus'"},
      {"ip,actions=ct(table=255)", "out of range 0..254"},
      {"ip,actions=set_field:1->ct_mark", "set_field cannot write 'ct_mark'"},
      {"ct_state=+trk+bogus,actions=drop", "'bogus' is not a ct_state flag"},
      {"ct_state=+trk,ct_state=+est,actions=drop", "ct_state is given twice"},
      {"ct_zone=70000,actions=drop", "out of range"},
      {"ct_zone=1/0xff,actions=drop", "ct_zone takes no mask"},
      {"ct_label=1,actions=drop", "unknown field 'ct_label'"},
  };
  PortMap ports = test::seed_ports();
  for (const Refused& r : refused) {
    SCOPED_TRACE(r.text);
    try {
      (void)parse_flow(r.text, ports, FlowSyntax::add);
      ADD_FAILURE() << "accepted";
    } catch (const FlowError& e) {
      EXPECT_NE(std::string(e.what()).find(r.message), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace sockswitch::flowtable
