// tests/flowtable/flow_parser_test.cc: ovs-ofctl flow text to FlowRule.
//
// Plan: every flow line of the seed deployments parses and prints in its
// pinned canonical form; each kind of malformed flow is rejected with the
// message, column and token an operator needs; a flow file reports exactly
// its bad lines and keeps the good ones in order.
#include "flowtable/flow_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "flowtable/flow_printer.h"
#include "tests/flowtable/flow_test_ports.h"

namespace sockswitch::flowtable {
namespace {

using test::seed_ports;

FlowRule parse(std::string_view text, FlowSyntax syntax = FlowSyntax::add) {
  PortMap ports = seed_ports();
  return parse_flow(text, ports, syntax);
}

// The seed documents' flow lines (000_*.txt, 001_*.txt: bash blocks and Nix
// strings), each with the canonical text `ovs-ofctl dump-flows` would show
// (names that are not plain alphanumerics in double quotes, as it prints them).
const std::vector<std::pair<std::string, std::string>> kSeedFlows = {
    {"priority=100,tcp,tp_dst=443,actions=output:veth102",
     "priority=100,tcp,tp_dst=443 actions=output:veth102"},
    {"priority=100,tcp,tp_dst=8443,actions=output:veth102",
     "priority=100,tcp,tp_dst=8443 actions=output:veth102"},
    {"priority=100,in_port=veth102,actions=output:warp0",
     "priority=100,in_port=veth102 actions=output:warp0"},
    {"priority=100,in_port=warp0,actions=output:veth102",
     "priority=100,in_port=warp0 actions=output:veth102"},
    {"priority=80,in_port=nm-server,actions=normal",
     "priority=80,in_port=\"nm-server\" actions=NORMAL"},
    {"priority=10,actions=normal", "priority=10 actions=NORMAL"},
    {"priority=100,in_port=nm-privacy,actions=normal",
     "priority=100,in_port=\"nm-privacy\" actions=NORMAL"},
    {"priority=90,tcp,tp_dst=9573,actions=output:veth200",
     "priority=90,tcp,tp_dst=9573 actions=output:veth200"},
    {"priority=90,tcp,tp_dst=9574,actions=output:veth201",
     "priority=90,tcp,tp_dst=9574 actions=output:veth201"},
    {"priority=90,tcp,tp_dst=6333,actions=output:veth202",
     "priority=90,tcp,tp_dst=6333 actions=output:veth202"},
    {"priority=90,tcp,tp_dst=6379,actions=output:veth203",
     "priority=90,tcp,tp_dst=6379 actions=output:veth203"},
    {"priority=80,in_port=veth200,actions=normal", "priority=80,in_port=veth200 actions=NORMAL"},
    {"priority=80,in_port=veth201,actions=normal", "priority=80,in_port=veth201 actions=NORMAL"},
    {"priority=80,in_port=veth202,actions=normal", "priority=80,in_port=veth202 actions=NORMAL"},
    {"priority=80,actions=normal", "priority=80 actions=NORMAL"},
    {"priority=90,in_port=veth200,actions=output:nm-privacy",
     "priority=90,in_port=veth200 actions=output:\"nm-privacy\""},
    {"priority=90,in_port=veth201,actions=output:nm-privacy",
     "priority=90,in_port=veth201 actions=output:\"nm-privacy\""},
    {"priority=90,in_port=nm-privacy,actions=normal",
     "priority=90,in_port=\"nm-privacy\" actions=NORMAL"},
    {"priority=80,in_port=to-privacy,actions=output:nm-privacy",
     "priority=80,in_port=\"to-privacy\" actions=output:\"nm-privacy\""},
    {"priority=100,in_port=from-mesh,actions=output:veth102",
     "priority=100,in_port=\"from-mesh\" actions=output:veth102"},
    {"priority=90,in_port=veth100,actions=output:warp0",
     "priority=90,in_port=veth100 actions=output:warp0"},
    {"priority=100,in_port=nm-privacy,actions=output:to-privacy",
     "priority=100,in_port=\"nm-privacy\" actions=output:\"to-privacy\""},
};

// OpenFlow's OFPFF_SEND_FLOW_REM: a bare keyword of added flows, printed
// where ovs-ofctl prints flags, and read back.
TEST(FlowParser, SendFlowRemIsAFlagOfAddedFlowsAndRoundTrips) {
  PortMap ports = seed_ports();
  const FlowRule rule = parse_flow("hard_timeout=5,send_flow_rem,priority=7,udp,actions=drop",
                                   ports, FlowSyntax::add);
  EXPECT_TRUE(rule.send_flow_removed);
  const std::string text = format_flow(rule, ports);
  EXPECT_EQ(text, "hard_timeout=5, send_flow_rem priority=7,udp actions=drop");
  EXPECT_EQ(parse_flow(text, ports, FlowSyntax::add), rule);
  EXPECT_THROW((void)parse_flow("send_flow_rem,udp", ports, FlowSyntax::match), FlowError);
}

TEST(FlowParser, SeedFlowsParsePrintAndRoundTrip) {
  PortMap ports = seed_ports();
  for (const auto& [line, canonical] : kSeedFlows) {
    SCOPED_TRACE(line);
    const FlowRule rule = parse_flow(line, ports, FlowSyntax::add);
    EXPECT_EQ(format_flow(rule, ports), canonical);
    EXPECT_EQ(parse_flow(canonical, ports, FlowSyntax::add), rule);
  }
}

TEST(FlowParser, SeedFlowMeaning) {
  PortMap ports = seed_ports();
  const FlowRule r =
      parse_flow("priority=100,tcp,tp_dst=443,actions=output:veth102", ports, FlowSyntax::add);
  EXPECT_EQ(r.priority, 100);
  EXPECT_EQ(r.table, 0);
  EXPECT_TRUE(r.match.is_exact(FieldId::eth_type, kEthTypeIpv4));
  EXPECT_TRUE(r.match.is_exact(FieldId::ip_proto, kIpProtoTcp));
  EXPECT_TRUE(r.match.is_exact(FieldId::tp_dst, 443));
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].kind, ActionKind::output);
  EXPECT_EQ(r.actions[0].port, *ports.find("veth102"));

  const FlowRule n = parse_flow("priority=10,actions=normal", ports, FlowSyntax::add);
  EXPECT_TRUE(n.match.mask.empty());
  ASSERT_EQ(n.actions.size(), 1u);
  EXPECT_EQ(n.actions[0].kind, ActionKind::normal);
}

TEST(FlowParser, SeedPlaceholderIsRejectedAtItsToken) {
  PortMap ports = seed_ports();
  try {
    (void)parse_flow("priority=100,in_port=nm-privacy,<privacy-match>,actions=output:to-privacy",
                     ports, FlowSyntax::add, {"mesh.flows", 3, 1});
    FAIL() << "placeholder accepted";
  } catch (const FlowError& e) {
    EXPECT_EQ(e.token(), "<privacy-match>");
    EXPECT_EQ(e.pos().column, 33);
    EXPECT_EQ(e.pos().line, 3);
    EXPECT_EQ(e.pos().file, "mesh.flows");
    EXPECT_NE(e.message().find("<privacy-match>"), std::string::npos) << e.message();
  }
}

struct BadFlow {
  std::string text;
  std::string message;  // substring
  int column;
  std::string token;
  FlowSyntax syntax = FlowSyntax::add;
};

const std::vector<BadFlow> kBadFlows = {
    {"foo=1,actions=drop", "unknown field 'foo'", 1, "foo=1"},
    {"tcp,bogus,actions=drop", "unknown field or protocol 'bogus'", 5, "bogus"},
    {"dl_src=00:11:22:33:44,actions=drop", "is not a MAC address", 1, "dl_src=00:11:22:33:44"},
    {"dl_dst=00:11:22:33:44:55/ff:ff,actions=drop", "'ff:ff' is not a MAC address", 1,
     "dl_dst=00:11:22:33:44:55/ff:ff"},
    {"ip,nw_src=10.0.0.0/zz,actions=drop", "is not a number", 4, "nw_src=10.0.0.0/zz"},
    {"tcp,tp_dst=1/0x10000,actions=drop", "mask 0x10000 is out of range", 5, "tp_dst=1/0x10000"},
    {"dl_type=0x800/0xff,actions=drop", "dl_type takes no mask", 1, "dl_type=0x800/0xff"},
    {"ip,nw_src=10.0.0.0/33,actions=drop", "prefix /33 is out of range 0..32", 4,
     "nw_src=10.0.0.0/33"},
    {"tp_dst=443,actions=drop", "tp_dst needs tcp, udp or sctp", 1, "tp_dst=443"},
    {"priority=5,udp,tcp_dst=80,actions=drop", "tcp_dst needs tcp", 16, "tcp_dst=80"},
    {"nw_src=10.0.0.1,actions=drop", "nw_src needs ip or arp", 1, "nw_src=10.0.0.1"},
    {"ip,icmp_type=8,actions=drop", "icmp_type needs icmp or icmp6", 4, "icmp_type=8"},
    {"icmp,icmpv6_type=8,actions=drop", "icmpv6_type needs icmp6", 6, "icmpv6_type=8"},
    {"ipv6,ipv6_src=::1,nd_target=::1,actions=drop", "nd_target needs icmp6 with icmp_type=135", 19,
     "nd_target=::1"},
    {"icmp6,icmp_type=136,nd_sll=00:00:00:00:00:01,actions=drop",
     "nd_sll needs icmp6 with icmp_type=135", 21, "nd_sll=00:00:00:00:00:01"},
    // A neighbour discovery message has code 0; OVS drops the field otherwise.
    {"icmp6,icmp_type=135,icmp_code=1,nd_target=::1,actions=drop",
     "nd_target needs icmp6 with icmp_type=135 or 136 and icmp_code=0", 33, "nd_target=::1"},
    {"arp_op=1,actions=drop", "arp_op needs arp or rarp", 1, "arp_op=1"},
    {"arp,arp_op=256,actions=drop", "arp_op=256 is out of range 0..255", 5, "arp_op=256"},
    {"nw_ttl=3,actions=drop", "nw_ttl needs ip or ipv6", 1, "nw_ttl=3"},
    {"ip,actions=mod_nw_src:10.0.0.300", "out of range 0..255", 12, "mod_nw_src:10.0.0.300"},
    {"actions=mod_nw_src:10.0.0.1", "mod_nw_src needs ip in the match", 9, "mod_nw_src:10.0.0.1"},
    {"ipv6,actions=mod_nw_dst:10.0.0.1", "mod_nw_dst needs ip in the match", 14,
     "mod_nw_dst:10.0.0.1"},
    {"priority=5,actions=dec_ttl", "dec_ttl needs ip or ipv6 in the match", 20, "dec_ttl"},
    {"actions=mod_nw_ttl:64", "mod_nw_ttl needs ip or ipv6 in the match", 9, "mod_nw_ttl:64"},
    {"ip,actions=mod_nw_ttl:256", "out of range 0..255", 12, "mod_nw_ttl:256"},
    {"ip,actions=mod_tp_dst:80", "mod_tp_dst needs tcp, udp or sctp in the match", 12,
     "mod_tp_dst:80"},
    {"ip,actions=mod_nw_tos:3", "not a multiple of 4", 12, "mod_nw_tos:3"},
    {"udp,actions=set_field:80->tcp_dst", "set_field to tcp_dst needs tcp", 13,
     "set_field:80->tcp_dst"},
    {"actions=set_field:1->in_port", "set_field cannot write 'in_port'", 9, "set_field:1->in_port"},
    {"ip,actions=set_field:10.0.0.0/8->nw_src", "nw_src takes no mask", 12,
     "set_field:10.0.0.0/8->nw_src"},
    {"dl_vlan=4096,actions=drop", "dl_vlan=4096 is out of range 0..4095", 1, "dl_vlan=4096"},
    {"dl_vlan_pcp=8,actions=drop", "dl_vlan_pcp=8 is out of range 0..7", 1, "dl_vlan_pcp=8"},
    {"ip,ip_dscp=64,actions=drop", "ip_dscp=64 is out of range 0..63", 4, "ip_dscp=64"},
    {"ip,nw_tos=3,actions=drop", "nw_tos=3 is not a multiple of 4", 4, "nw_tos=3"},
    {"ip,nw_ecn=4,actions=drop", "nw_ecn=4 is out of range 0..3", 4, "nw_ecn=4"},
    {"ip,nw_dst=300.1.1.1,actions=drop", "octet 300 out of range 0..255", 4, "nw_dst=300.1.1.1"},
    {"tcp,tp_dst=70000,actions=drop", "tp_dst=70000 is out of range 0..65535", 5, "tp_dst=70000"},
    {"ipv6,ipv6_label=0x100000,actions=drop", "is out of range 0..1048575", 6,
     "ipv6_label=0x100000"},
    {"priority=65536,actions=drop", "priority=65536 is out of range 0..65535", 1, "priority=65536"},
    {"table=255,actions=drop", "table=255 is out of range 0..254", 1, "table=255"},
    {"idle_timeout=70000,actions=drop", "out of range 0..65535", 1, "idle_timeout=70000"},
    {"metadata=0x1ffffffffffffffff,actions=drop", "does not fit in 64 bits", 1,
     "metadata=0x1ffffffffffffffff"},
    {"reg0=0x100000000,actions=drop", "reg0=0x100000000 is out of range 0..4294967295", 1,
     "reg0=0x100000000"},
    {"cookie=18446744073709551616,actions=drop", "does not fit in 64 bits", 1,
     "cookie=18446744073709551616"},
    {"priority=010,actions=drop", "leading zero", 1, "priority=010"},
    {"ip,ip_frag=sometimes,actions=drop", "not one of no, first, later, yes, not_later", 4,
     "ip_frag=sometimes"},
    {"tcp,tcp_flags=+syn+bogus,actions=drop", "'bogus' is not a TCP flag", 5,
     "tcp_flags=+syn+bogus"},
    {"in_port=eth9,actions=drop", "unknown port 'eth9'", 1, "in_port=eth9"},
    {"in_port=NORMAL,actions=drop", "cannot be matched", 1, "in_port=NORMAL"},
    {"priority=1,actions=output:eth9", "unknown port 'eth9'", 20, "output:eth9"},
    {"actions=normal,eth9", "unknown action or port 'eth9'", 16, "eth9"},
    {"actions=output:70000", "port 70000 is out of range 1..65280", 9, "output:70000"},
    {"actions=bogus:1", "unknown action 'bogus'", 9, "bogus:1"},
    {"actions=output:", "output needs an argument", 9, "output:"},
    {"actions=resubmit(,", "missing its closing ')'", 9, "resubmit(,"},
    {"actions=resubmit(,255)", "out of range 0..254", 9, "resubmit(,255)"},
    {"actions=mod_dl_src:", "mod_dl_src needs an argument", 9, "mod_dl_src:"},
    {"actions=mod_vlan_vid:4096", "out of range 0..4095", 9, "mod_vlan_vid:4096"},
    {"actions=push_vlan:0x0800", "TPID must be 0x8100 or 0x88a8", 9, "push_vlan:0x0800"},
    {"actions=controller(reason=no_match)", "only max_len=N is supported", 9,
     "controller(reason=no_match)"},
    {"actions=strip_vlan:1", "strip_vlan takes no argument", 9, "strip_vlan:1"},
    {"actions=drop,normal", "drop must be the only action", 9, "drop"},
    {"actions=normal,drop", "drop must be the only action", 16, "drop"},
    {"priority=5,tcp", "needs actions=", 15, ""},
    {"tcp,tp_dst=1,tp_dst=2,actions=drop", "tp_dst is given twice", 14, "tp_dst=2"},
    {"tcp,tp_dst=1,tcp_dst=2,actions=drop", "tcp_dst sets the same field as tp_dst=1", 14,
     "tcp_dst=2"},
    {"ip,nw_tos=4,ip_dscp=1,actions=drop", "ip_dscp sets the same field as nw_tos=4", 13,
     "ip_dscp=1"},
    {"priority=1,priority=2,actions=drop", "priority is given twice", 12, "priority=2"},
    {"tcp,udp,actions=drop", "udp contradicts tcp", 5, "udp"},
    {"tcp,nw_proto=17,actions=drop", "nw_proto=17 contradicts tcp", 5, "nw_proto=17"},
    {"ip,dl_type=0x86dd,actions=drop", "dl_type=0x86dd contradicts ip", 4, "dl_type=0x86dd"},
    {"dl_vlan=0xffff,dl_vlan_pcp=1,actions=drop", "dl_vlan_pcp=1 contradicts dl_vlan=0xffff", 16,
     "dl_vlan_pcp=1"},
    {"tcp=1,actions=drop", "takes no value", 1, "tcp=1"},
    {"table=3,actions=goto_table:2", "goto_table must go to a later table", 17, "goto_table:2"},
    {"table=3,actions=goto_table:3", "goto_table must go to a later table", 17, "goto_table:3"},
    {"actions=goto_table:1,normal", "goto_table must be the last action", 22, "normal"},
    {"cookie=0x1/0xff,actions=drop", "cookie mask", 1, "cookie=0x1/0xff"},
    {"priority=5,tcp", "priority is not part of a packet description", 1, "priority=5",
     FlowSyntax::packet},
    {"tcp,actions=drop", "a packet description has no actions", 5, "actions=", FlowSyntax::packet},
    {"tcp,tp_dst=1,tp_dst=2", "tp_dst is given twice", 14, "tp_dst=2", FlowSyntax::match},
};

TEST(FlowParser, MalformedFlowsGetPreciseErrors) {
  for (const BadFlow& bad : kBadFlows) {
    SCOPED_TRACE(bad.text);
    PortMap ports = seed_ports();
    try {
      const FlowRule r = parse_flow(bad.text, ports, bad.syntax);
      ADD_FAILURE() << "accepted as: " << format_flow(r, ports);
    } catch (const FlowError& e) {
      EXPECT_NE(e.message().find(bad.message), std::string::npos) << e.message();
      EXPECT_EQ(e.pos().column, bad.column) << e.what();
      EXPECT_EQ(e.token(), bad.token) << e.what();
    }
  }
}

TEST(FlowParser, ErrorColumnsCountFromWhereColumn) {
  PortMap ports = seed_ports();
  try {
    (void)parse_flow("tcp,tp_dst=70000,actions=drop", ports, FlowSyntax::add, {"f", 7, 5});
    FAIL();
  } catch (const FlowError& e) {
    EXPECT_EQ(e.pos().column, 9);
    EXPECT_EQ(e.pos().line, 7);
    EXPECT_EQ(std::string(e.what()),
              "f:7:9: error: tp_dst=70000 is out of range 0..65535 "
              "(at 'tp_dst=70000')");
  }
}

TEST(FlowParser, OrderOfTokensDoesNotMatter) {
  EXPECT_EQ(parse("tp_dst=443,tcp,actions=drop"), parse("tcp,tp_dst=443,actions=drop"));
  EXPECT_EQ(parse("nw_src=1.2.3.4,arp,actions=drop"), parse("arp,arp_spa=1.2.3.4,actions=drop"));
  EXPECT_EQ(parse("nd_target=fe80::1,icmp_type=135,icmp6,actions=drop"),
            parse("icmp6,icmp_type=135,nd_target=fe80::1,actions=drop"));
}

TEST(FlowParser, AliasesMeanTheSameStorage) {
  EXPECT_EQ(parse("eth_src=00:11:22:33:44:55,actions=drop"),
            parse("dl_src=00:11:22:33:44:55,actions=drop"));
  EXPECT_EQ(parse("ip,ipv4_dst=10.1.2.3,actions=drop"), parse("ip,nw_dst=10.1.2.3,actions=drop"));
  EXPECT_EQ(parse("ip,ip_dscp=10,actions=drop"), parse("ip,nw_tos=40,actions=drop"));
  EXPECT_EQ(parse("tcp,tcp_dst=80,actions=drop"), parse("tcp,tp_dst=80,actions=drop"));
  EXPECT_EQ(parse("arp,nw_proto=2,actions=drop"), parse("arp,arp_op=2,actions=drop"));
  EXPECT_EQ(parse("dl_type=0x0800,nw_proto=6,actions=drop"), parse("tcp,actions=drop"));
  EXPECT_EQ(parse("ip,tcp,actions=drop"), parse("tcp,actions=drop"));
  EXPECT_EQ(parse("icmp6,icmp_type=135,nd_sll=00:00:00:00:00:01,actions=drop"),
            parse("icmp6,icmpv6_type=135,nd_sll=00:00:00:00:00:01,actions=drop"));
  EXPECT_EQ(parse("eth_type=2048,actions=drop"), parse("ip,actions=drop"));
  EXPECT_EQ(parse("actions=output:NORMAL"), parse("actions=NORMAL"));
  EXPECT_EQ(parse("actions=output:veth102"), parse("actions=veth102"));
  EXPECT_EQ(parse("actions=output:1"), parse("actions=1"));
  EXPECT_EQ(parse("actions=controller"), parse("actions=controller(max_len=65535)"));
  EXPECT_EQ(parse("actions=set_field:5->vlan_vid"), parse("actions=mod_vlan_vid:5"));
  EXPECT_EQ(parse("ip,actions=set_field:10->ip_dscp"), parse("ip,actions=mod_nw_tos:40"));
  EXPECT_EQ(parse("actions=drop"), parse("actions="));
  EXPECT_EQ(parse("priority=1 tcp tp_dst=1 actions=drop"),
            parse("priority=1,tcp,tp_dst=1,actions=drop"));
}

TEST(FlowParser, FieldViewsStoreTheDocumentedBits) {
  auto match = [](std::string_view text) { return parse(text).match; };
  Match m = match("dl_vlan=5,actions=drop");
  EXPECT_EQ(m.value.get(FieldId::vlan_tci), 0x1005u);
  EXPECT_EQ(m.mask.get(FieldId::vlan_tci), 0x1fffu);
  m = match("dl_vlan=0xffff,actions=drop");
  EXPECT_EQ(m.value.get(FieldId::vlan_tci), 0u);
  EXPECT_EQ(m.mask.get(FieldId::vlan_tci), 0xffffu);
  m = match("dl_vlan_pcp=3,actions=drop");
  EXPECT_EQ(m.value.get(FieldId::vlan_tci), 0x7000u);
  EXPECT_EQ(m.mask.get(FieldId::vlan_tci), 0xf000u);
  m = match("ip,nw_ecn=3,actions=drop");
  EXPECT_EQ(m.value.get(FieldId::ip_tos), 3u);
  EXPECT_EQ(m.mask.get(FieldId::ip_tos), 3u);
  m = match("ip,nw_src=10.0.0.1/8,actions=drop");  // masked, as CIDR is written
  EXPECT_EQ(m.value.get(FieldId::ipv4_src), 0x0a000000u);
  EXPECT_EQ(m.mask.get(FieldId::ipv4_src), 0xff000000u);
  m = match("ip,nw_dst=10.0.0.0/255.0.255.0,actions=drop");
  EXPECT_EQ(m.mask.get(FieldId::ipv4_dst), 0xff00ff00u);
  m = match("tcp,tcp_flags=+syn-ack,actions=drop");
  EXPECT_EQ(m.value.get(FieldId::tcp_flags), 0x002u);
  EXPECT_EQ(m.mask.get(FieldId::tcp_flags), 0x012u);
  m = match("tcp,tcp_flags=0x002,actions=drop");
  EXPECT_EQ(m.mask.get(FieldId::tcp_flags), 0xfffu);
  const std::pair<const char*, std::pair<unsigned, unsigned>> frags[] = {
      {"no", {0, 3}}, {"yes", {1, 1}}, {"first", {1, 3}}, {"later", {3, 3}}, {"not_later", {0, 2}}};
  for (const auto& [name, vm] : frags) {
    m = match(std::string("ip,ip_frag=") + name + ",actions=drop");
    EXPECT_EQ(m.value.get(FieldId::ip_frag), vm.first) << name;
    EXPECT_EQ(m.mask.get(FieldId::ip_frag), vm.second) << name;
  }
  m = match("ipv6,ipv6_src=2001:db8::1/32,actions=drop");
  EXPECT_EQ(m.value.get_wide(FieldId::ipv6_src), (Wide{0x20010db800000000, 0}));
  EXPECT_EQ(m.mask.get_wide(FieldId::ipv6_src), (Wide{0xffffffff00000000, 0}));
  m = match("in_port=LOCAL,actions=drop");
  EXPECT_EQ(m.value.get(FieldId::in_port), to_u32(kPortLocal));
  EXPECT_EQ(match("in_port=65534,actions=drop"), m);
  m = match("metadata=0xffffffffffffffff,actions=drop");
  EXPECT_EQ(m.value.get(FieldId::metadata), ~std::uint64_t{0});
}

TEST(FlowParser, BookkeepingKeysPerSyntax) {
  FlowRule r = parse("cookie=0x10,table=2,idle_timeout=5,hard_timeout=6,priority=0,actions=drop");
  EXPECT_EQ(r.cookie, 0x10u);
  EXPECT_EQ(r.cookie_mask, 0u);
  EXPECT_EQ(r.table, 2);
  EXPECT_EQ(r.idle_timeout, 5);
  EXPECT_EQ(r.hard_timeout, 6);
  EXPECT_EQ(r.priority, 0);

  r = parse("tcp", FlowSyntax::match);
  EXPECT_EQ(r.table, 255);  // all tables
  EXPECT_TRUE(r.actions.empty());
  r = parse("cookie=0x1234/0xff00,table=1", FlowSyntax::match);
  EXPECT_EQ(r.cookie, 0x1200u);
  EXPECT_EQ(r.cookie_mask, 0xff00u);
  EXPECT_EQ(r.table, 1);

  r = parse("in_port=veth102,tcp,tp_dst=80", FlowSyntax::packet);
  EXPECT_EQ(r.table, 0);
  EXPECT_EQ(r.priority, kDefaultPriority);
}

TEST(FlowParser, Actions) {
  PortMap ports = seed_ports();
  const FlowRule r = parse_flow(
      "table=1,tcp,actions=resubmit(,2),resubmit:veth102,resubmit(warp0,3),"
      "controller:128,mod_tp_dst:8080,set_field:10.0.0.1->ip_dst,push_vlan:0x88a8,goto_table:4",
      ports, FlowSyntax::add);
  ASSERT_EQ(r.actions.size(), 8u);
  EXPECT_EQ(r.actions[0].kind, ActionKind::resubmit);
  EXPECT_EQ(r.actions[0].port, kPortInPort);
  EXPECT_EQ(r.actions[0].table, 2);
  EXPECT_EQ(r.actions[1].port, *ports.find("veth102"));
  EXPECT_EQ(r.actions[1].table, 255);  // the current table
  EXPECT_EQ(r.actions[2].port, *ports.find("warp0"));
  EXPECT_EQ(r.actions[2].table, 3);
  EXPECT_EQ(r.actions[3].kind, ActionKind::controller);
  EXPECT_EQ(r.actions[3].max_len, 128);
  EXPECT_EQ(r.actions[4].kind, ActionKind::mod_tp_dst);
  EXPECT_EQ(r.actions[4].value.lo, 8080u);
  EXPECT_EQ(r.actions[5].kind, ActionKind::set_field);
  EXPECT_EQ(r.actions[5].field, FieldId::ipv4_dst);
  EXPECT_EQ(r.actions[5].value.lo, 0x0a000001u);
  EXPECT_EQ(r.actions[6].value.lo, 0x88a8u);
  EXPECT_EQ(r.actions[7].kind, ActionKind::goto_table);
  EXPECT_EQ(r.actions[7].table, 4);
}

TEST(FlowParser, AutoNumberedPorts) {
  PortMap ports;
  ports.set_auto_number(true);
  const FlowRule r = parse_flow("in_port=eth0,actions=output:eth1", ports, FlowSyntax::add);
  EXPECT_EQ(r.match.value.get(FieldId::in_port), 1u);
  EXPECT_EQ(r.actions[0].port, PortNo{2});
  EXPECT_EQ(format_flow(r, ports), "in_port=eth0 actions=output:eth1");
}

TEST(FlowFile, ReportsBadLinesAndKeepsGoodOnesInOrder) {
  PortMap ports = seed_ports();
  const std::string contents =
      "# VPS socket flows\n"
      "\n"
      "priority=100,tcp,tp_dst=443,actions=output:veth102   # Xray\n"
      "   priority=100,in_port=veth102,actions=output:warp0\n"
      "priority=100,tcp,tp_dst=70000,actions=output:veth102\n"
      "\t\n"
      "  # indented comment\n"
      "priority=90,in_port=nm-privacy,<privacy-match>,actions=normal\n"
      "priority=10,actions=normal\r\n";
  const FlowFile f = parse_flow_file(contents, "vps.flows", ports);
  ASSERT_EQ(f.errors.size(), 2u);
  EXPECT_EQ(f.errors[0].pos().file, "vps.flows");
  EXPECT_EQ(f.errors[0].pos().line, 5);
  EXPECT_EQ(f.errors[0].pos().column, 18);
  EXPECT_EQ(f.errors[0].token(), "tp_dst=70000");
  EXPECT_EQ(f.errors[1].pos().line, 8);
  EXPECT_EQ(f.errors[1].pos().column, 32);
  EXPECT_EQ(f.errors[1].token(), "<privacy-match>");

  ASSERT_EQ(f.flows.size(), 3u);
  EXPECT_EQ(f.flows[0].text, "priority=100,tcp,tp_dst=443,actions=output:veth102");
  EXPECT_EQ(f.flows[0].pos.line, 3);
  EXPECT_EQ(f.flows[1].text, "priority=100,in_port=veth102,actions=output:warp0");
  EXPECT_EQ(f.flows[1].pos.line, 4);
  EXPECT_EQ(f.flows[1].pos.column, 4);
  EXPECT_EQ(f.flows[2].text, "priority=10,actions=normal");
  EXPECT_EQ(f.flows[2].pos.line, 9);
  EXPECT_EQ(format_flow(f.flows[2].rule, ports), "priority=10 actions=NORMAL");
}

TEST(FlowFile, HashInsideATokenIsNotAComment) {
  PortMap ports = seed_ports();
  ports.add("port#1", PortNo{40});
  const FlowFile f = parse_flow_file("in_port=port#1,actions=drop #why\n", "x", ports);
  ASSERT_TRUE(f.errors.empty()) << f.errors[0].what();
  ASSERT_EQ(f.flows.size(), 1u);
  EXPECT_EQ(f.flows[0].text, "in_port=port#1,actions=drop");
  EXPECT_EQ(f.flows[0].rule.match.value.get(FieldId::in_port), 40u);
}

}  // namespace
}  // namespace sockswitch::flowtable
