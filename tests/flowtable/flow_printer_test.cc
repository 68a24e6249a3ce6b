// tests/flowtable/flow_printer_test.cc: FlowRule to canonical flow text.
//
// Plan: pin the canonical text of one flow per printing rule (shorthands,
// views, masks, reserved actions), then check parse(format(r)) == r over a
// wide set of flows in every syntax.
#include "flowtable/flow_printer.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "flowtable/flow_parser.h"
#include "tests/flowtable/flow_test_ports.h"

namespace sockswitch::flowtable {
namespace {

using test::seed_ports;

std::string canonical(std::string_view text, FlowSyntax syntax = FlowSyntax::add) {
  PortMap ports = seed_ports();
  return format_flow(parse_flow(text, ports, syntax), ports, syntax);
}

const std::vector<std::pair<std::string, std::string>> kCanonical = {
    {"tp_dst=443,tcp,priority=100,actions=veth102",
     "priority=100,tcp,tp_dst=443 actions=output:veth102"},
    {"actions=normal", "actions=NORMAL"},
    {"priority=32768,actions=", "actions=drop"},
    {"priority=0,actions=drop", "priority=0 actions=drop"},
    {"hard_timeout=9,priority=7,cookie=0x5,table=2,idle_timeout=10,actions=drop",
     "cookie=0x5, table=2, idle_timeout=10, hard_timeout=9, priority=7 actions=drop"},
    {"cookie=17,actions=flood", "cookie=0x11, actions=FLOOD"},
    {"ip,nw_src=10.0.0.1/8,actions=drop", "ip,nw_src=10.0.0.0/8 actions=drop"},
    {"ip,nw_src=10.0.0.1/32,nw_dst=10.0.0.0/255.0.255.0,actions=drop",
     "ip,nw_src=10.0.0.1,nw_dst=10.0.0.0/255.0.255.0 actions=drop"},
    {"arp,nw_src=1.2.3.4,nw_proto=1,arp_tha=00:00:00:00:00:01,actions=drop",
     "arp,arp_spa=1.2.3.4,arp_op=1,arp_tha=00:00:00:00:00:01 actions=drop"},
    {"rarp,arp_tpa=10.0.0.0/24,actions=drop", "rarp,arp_tpa=10.0.0.0/24 actions=drop"},
    {"dl_type=0x0800,nw_proto=6,actions=drop", "tcp actions=drop"},
    {"dl_type=0x86dd,nw_proto=17,actions=drop", "udp6 actions=drop"},
    {"ip,nw_proto=47,actions=drop", "ip,nw_proto=47 actions=drop"},
    {"ipv6,nw_proto=0,actions=drop", "ipv6,nw_proto=0 actions=drop"},
    {"dl_type=0x88cc,actions=drop", "dl_type=0x88cc actions=drop"},
    // ovs-ofctl's places: dl_type after the MACs, nw_proto after the addresses.
    {"dl_type=0x88cc,dl_src=00:00:00:00:00:01,in_port=veth102,dl_vlan=5,actions=drop",
     "in_port=veth102,dl_vlan=5,dl_src=00:00:00:00:00:01,dl_type=0x88cc actions=drop"},
    {"ip,nw_proto=47,nw_ttl=3,nw_src=10.0.0.1,actions=drop",
     "ip,nw_src=10.0.0.1,nw_proto=47,nw_ttl=3 actions=drop"},
    {"ipv6,nw_proto=47,ipv6_label=0x12/0xff,actions=drop",
     "ipv6,ipv6_label=0x00012/0x000ff,nw_proto=47 actions=drop"},
    {"icmp,icmp_type=8,icmp_code=0,actions=drop", "icmp,icmp_type=8,icmp_code=0 actions=drop"},
    {"sctp6,sctp_src=9,actions=drop", "sctp6,tp_src=9 actions=drop"},
    {"dl_vlan_pcp=3,dl_vlan=5,actions=drop", "dl_vlan=5,dl_vlan_pcp=3 actions=drop"},
    {"vlan_tci=0x1005/0x1fff,actions=drop", "dl_vlan=5 actions=drop"},
    {"vlan_tci=0x0005/0x0fff,actions=drop", "vlan_tci=0x0005/0x0fff actions=drop"},
    {"vlan_tci=0x1000/0x1000,actions=drop", "vlan_tci=0x1000/0x1000 actions=drop"},
    {"vlan_tci=0,actions=drop", "vlan_tci=0x0000 actions=drop"},
    {"dl_vlan=0xffff,actions=drop", "vlan_tci=0x0000 actions=drop"},
    {"dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,dl_src=AA:bb:0:1:2:3,actions=drop",
     "dl_src=aa:bb:00:01:02:03,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00 actions=drop"},
    {"tcp,tcp_flags=+syn-ack,actions=drop", "tcp,tcp_flags=+syn-ack actions=drop"},
    {"tcp,tcp_flags=0x002,actions=drop", "tcp,tcp_flags=0x2 actions=drop"},
    {"ip,ip_dscp=10,nw_ecn=1,nw_ttl=64,ip_frag=first,actions=drop",
     "ip,nw_tos=40,nw_ecn=1,nw_ttl=64,nw_frag=first actions=drop"},
    {"tcp,tp_dst=0x1000/0xf000,actions=drop", "tcp,tp_dst=0x1000/0xf000 actions=drop"},
    {"reg0=0x10/0xff,metadata=5,reg7=1,actions=drop",
     "reg0=0x10/0xff,reg7=0x1,metadata=0x5 actions=drop"},
    {"icmp6,icmp_type=135,nd_target=fe80::1,nd_sll=00:11:22:33:44:55,actions=drop",
     "icmp6,icmp_type=135,nd_target=fe80::1,nd_sll=00:11:22:33:44:55 actions=drop"},
    {"ipv6,ipv6_src=2001:db8::/32,ipv6_dst=::1,ipv6_label=0x12345,actions=drop",
     "ipv6,ipv6_src=2001:db8::/32,ipv6_dst=::1,ipv6_label=0x12345 actions=drop"},
    {"in_port=1,actions=output:2,controller,resubmit(,3),mod_dl_src:00:11:22:33:44:55",
     "in_port=veth102 actions=output:warp0,CONTROLLER:65535,resubmit(,3),"
     "mod_dl_src:00:11:22:33:44:55"},
    {"in_port=LOCAL,actions=in_port,local,all,output:40,resubmit:warp0,resubmit(veth102,2)",
     "in_port=LOCAL actions=IN_PORT,LOCAL,ALL,output:40,resubmit:warp0,resubmit(veth102,2)"},
    {"tcp,actions=set_field:80->tp_dst,mod_tp_src:1,mod_nw_tos:8,dec_ttl",
     "tcp actions=set_field:80->tcp_dst,mod_tp_src:1,mod_nw_tos:8,dec_ttl"},
    {"table=20,priority=300,ip,actions=mod_nw_ttl:64,resubmit(,30)",
     "table=20, priority=300,ip actions=mod_nw_ttl:64,resubmit(,30)"},
    {"arp,actions=set_field:1.2.3.4->nw_src,set_field:2->arp_op",
     "arp actions=set_field:1.2.3.4->arp_spa,set_field:2->arp_op"},
    {"ip,actions=mod_nw_src:10.0.0.1,mod_nw_dst:10.0.0.2,set_field:1->nw_ecn,set_field:3->nw_ttl",
     "ip actions=mod_nw_src:10.0.0.1,mod_nw_dst:10.0.0.2,set_field:1->nw_ecn,"
     "set_field:3->nw_ttl"},
    {"actions=mod_vlan_vid:7,mod_vlan_pcp:2,strip_vlan,push_vlan:0x8100,pop_vlan,"
     "set_field:0x3->reg2,set_field:00:00:00:00:00:09->eth_dst",
     "actions=mod_vlan_vid:7,mod_vlan_pcp:2,strip_vlan,push_vlan:0x8100,pop_vlan,"
     "set_field:0x3->reg2,set_field:00:00:00:00:00:09->eth_dst"},
    {"ipv6,actions=set_field:fe80::1->ipv6_dst,set_field:5->ipv6_label",
     "ipv6 actions=set_field:fe80::1->ipv6_dst,set_field:0x5->ipv6_label"},
    {"table=1,actions=controller(max_len=128),goto_table:2",
     "table=1, actions=CONTROLLER:128,goto_table:2"},
};

TEST(FlowPrinter, CanonicalForms) {
  for (const auto& [text, expected] : kCanonical) {
    SCOPED_TRACE(text);
    EXPECT_EQ(canonical(text), expected);
    EXPECT_EQ(canonical(expected), expected);  // canonical text is a fixed point
  }
}

TEST(FlowPrinter, MatchSyntaxKeepsTableAndCookieMask) {
  EXPECT_EQ(canonical("tcp", FlowSyntax::match), "tcp actions=drop");
  EXPECT_EQ(canonical("table=255,tcp", FlowSyntax::match), "tcp actions=drop");
  EXPECT_EQ(canonical("table=0,tcp", FlowSyntax::match), "table=0, tcp actions=drop");
  EXPECT_EQ(canonical("cookie=0x1/0xff,in_port=warp0", FlowSyntax::match),
            "cookie=0x1/0xff, in_port=warp0 actions=drop");
  EXPECT_EQ(canonical("in_port=warp0,udp,tp_src=53", FlowSyntax::packet),
            "udp,in_port=warp0,tp_src=53");
}

TEST(FlowPrinter, FormatMatchAndActions) {
  PortMap ports = seed_ports();
  FlowRule r = parse_flow("priority=100,tcp,tp_dst=443,actions=output:veth102,normal", ports,
                          FlowSyntax::add);
  EXPECT_EQ(format_match(r, ports), "priority=100,tcp,tp_dst=443");
  EXPECT_EQ(format_actions(r.actions, ports), "output:veth102,NORMAL");
  EXPECT_EQ(format_action(r.actions[1], ports), "NORMAL");
  EXPECT_EQ(format_actions({}, ports), "drop");
  EXPECT_EQ(format_match(FlowRule{}, ports), "");
}

TEST(FlowPrinter, Ports) {
  PortMap ports = seed_ports();
  ports.add("normal", PortNo{50});  // would read back as NORMAL
  ports.add("123", PortNo{51});     // would read back as port 123
  EXPECT_EQ(format_port(PortNo{1}, ports), "veth102");
  EXPECT_EQ(format_port(PortNo{50}, ports), "50");
  EXPECT_EQ(format_port(PortNo{51}, ports), "51");
  EXPECT_EQ(format_port(PortNo{77}, ports), "77");
  EXPECT_EQ(format_port(kPortLocal, ports), "LOCAL");
  EXPECT_EQ(format_port(kPortController, ports), "CONTROLLER");
}

// Flows covering every field, view and action, for the round trip.
const std::vector<std::string> kRoundTrip = {
    "priority=100,tcp,tp_dst=443,actions=output:veth102",
    "actions=",
    "cookie=0xffffffffffffffff,table=254,idle_timeout=65535,hard_timeout=1,priority=65535,"
    "actions=drop",
    "in_port=65280,dl_src=00:00:00:00:00:01/ff:ff:ff:00:00:00,dl_dst=ff:ff:ff:ff:ff:ff,actions=all",
    "dl_vlan=4095,dl_vlan_pcp=7,actions=strip_vlan",
    "vlan_tci=0x0fff/0xefff,actions=drop",
    "vlan_tci=0xffff,actions=drop",
    "dl_vlan_pcp=0,actions=drop",
    "ip,nw_src=0.0.0.0/0,actions=drop",
    "ip,nw_src=128.0.0.0/1,nw_dst=255.255.255.254/31,nw_proto=255,actions=drop",
    "ip,nw_src=1.0.0.1/255.0.0.255,actions=drop",
    "udp,udp_src=0,udp_dst=65535/0x00ff,nw_tos=252,nw_ecn=3,actions=mod_tp_dst:53",
    "sctp,sctp_dst=1,ip_frag=not_later,actions=drop",
    "tcp6,tcp_src=22,ipv6_src=::/0,ipv6_dst=2001:db8::1/ffff::ffff,actions=drop",
    "ipv6,ipv6_label=0xfffff/0x1,ip_frag=later,nw_ttl=0,actions=dec_ttl",
    "ip,ip_frag=yes,actions=drop",
    "ip,ip_frag=no,actions=drop",
    "icmp6,icmp_type=136,nd_target=::ffff:1.2.3.4,nd_tll=00:00:00:00:00:02,actions=drop",
    "icmp6,icmp_type=135,nd_target=fe80::/10,nd_sll=00:00:00:00:00:00/01:00:00:00:00:00,"
    "actions=drop",
    "icmp,icmp_type=255,icmp_code=255,actions=drop",
    "icmp6,icmpv6_code=1,actions=drop",
    "arp,arp_op=255,arp_sha=00:00:00:00:00:01,arp_spa=10.0.0.0/8,actions=set_field:10.0.0.1->"
    "arp_tpa,set_field:00:00:00:00:00:05->arp_sha",
    "rarp,actions=set_field:2->nw_proto",
    "tcp,tcp_flags=-fin+syn-rst+psh-ack+urg-ece+cwr-ns,actions=drop",
    "tcp,tcp_flags=0x800/0x800,actions=drop",
    "tcp,tcp_flags=0/0x1ff,actions=drop",
    "metadata=0x8000000000000000/0x8000000000000000,reg1=4294967295,reg2=0/1,reg3=1,reg4=2,"
    "reg5=3,reg6=4,actions=set_field:0xffffffffffffffff->metadata",
    "dl_type=0x0001,actions=drop",
    "dl_type=0xffff,actions=drop",
    "actions=output:veth102,output:warp0,NORMAL,FLOOD,ALL,IN_PORT,LOCAL,CONTROLLER:0",
    "actions=resubmit(,0),resubmit(LOCAL,254),resubmit(,),resubmit:IN_PORT,resubmit:7",
    "actions=mod_dl_src:ff:ff:ff:ff:ff:ff,mod_dl_dst:00:00:00:00:00:00,mod_vlan_vid:0,"
    "mod_vlan_pcp:7,push_vlan:0x88a8",
    "ip,actions=set_field:63->ip_dscp,set_field:0.0.0.0->ipv4_dst,mod_nw_tos:252",
    "udp6,actions=set_field:1->udp_src,set_field:2->tp_dst,set_field:fe80::1->ipv6_src",
    "sctp,actions=set_field:3->sctp_dst",
    "actions=set_field:4095->vlan_vid,set_field:7->vlan_pcp,set_field:0->dl_vlan",
    "table=253,actions=goto_table:254",
    "actions=output:1,goto_table:1",
};

TEST(FlowPrinter, RoundTripInEverySyntax) {
  for (const std::string& text : kRoundTrip) {
    SCOPED_TRACE(text);
    for (FlowSyntax syntax : {FlowSyntax::add, FlowSyntax::match}) {
      PortMap ports = seed_ports();
      const FlowRule r = parse_flow(text, ports, syntax);
      const std::string printed = format_flow(r, ports, syntax);
      EXPECT_EQ(parse_flow(printed, ports, syntax), r) << printed;
      EXPECT_EQ(format_flow(parse_flow(printed, ports, syntax), ports, syntax), printed);
    }
  }
}

TEST(FlowPrinter, RoundTripOfPacketDescriptions) {
  for (const std::string& text : kRoundTrip) {
    const std::size_t actions = text.find("actions=");
    std::string match = text.substr(0, actions);
    // Bookkeeping keys are not part of a packet.
    if (match.find("priority") != std::string::npos || match.find("table") != std::string::npos ||
        match.find("cookie") != std::string::npos)
      continue;
    SCOPED_TRACE(match);
    PortMap ports = seed_ports();
    const FlowRule r = parse_flow(match, ports, FlowSyntax::packet);
    const std::string printed = format_flow(r, ports, FlowSyntax::packet);
    EXPECT_EQ(printed, format_match(r, ports));
    EXPECT_EQ(parse_flow(printed, ports, FlowSyntax::packet), r) << printed;
  }
}

}  // namespace
}  // namespace sockswitch::flowtable
