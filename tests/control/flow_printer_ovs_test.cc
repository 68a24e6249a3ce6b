// tests/control/flow_printer_ovs_test.cc: the flow printer against the installed ovs-ofctl.
//
// The printer's own tests pin strings written by hand; this one asks Open
// vSwitch. `ovs-ofctl parse-flows FILE` reads flows without a switch and
// prints each as OVS understood it, after encoding it in an OpenFlow
// version. For every flow of a corpus (one per printing rule, the seed
// deployments' tables, the stateful and register flows), the test prints
// the flow with sockswitch's printer (ports by number, as OVS has no names
// here) and compares the match and the actions with what ovs-ofctl prints
// for the same line in OpenFlow 1.0 (its default, what a plain `ovs-ofctl
// dump-flows` shows) and in OpenFlow 1.3, and must equal one of the two
// exactly (the versions differ only in how they carry some actions).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 with ASan, inside <regex>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "control/port_arguments.h"
#include "flowtable/flow_parser.h"
#include "flowtable/flow_printer.h"
#include "tests/net/command.h"
#include "tests/net/skip.h"

namespace sockswitch::test {
namespace {

using namespace std::chrono_literals;
using flowtable::FlowSyntax;
using flowtable::PortMap;

constexpr const char* kOvsOfctl = "/usr/bin/ovs-ofctl";

const std::vector<std::string> kCorpus = {
    "priority=100,tcp,tp_dst=443,actions=output:3",
    "actions=normal",
    "priority=0,actions=drop",
    "hard_timeout=9,priority=7,cookie=0x5,table=2,idle_timeout=10,actions=drop",
    "cookie=17,actions=flood",
    "ip,nw_src=10.0.0.1/8,actions=drop",
    "ip,nw_src=10.0.0.1/32,nw_dst=10.0.0.0/255.0.255.0,actions=drop",
    "arp,nw_src=1.2.3.4,nw_proto=1,arp_tha=00:00:00:00:00:01,actions=drop",
    "rarp,arp_tpa=10.0.0.0/24,actions=drop",
    "dl_type=0x0800,nw_proto=6,actions=drop",
    "dl_type=0x86dd,nw_proto=17,actions=drop",
    "ip,nw_proto=47,actions=drop",
    "dl_type=0x88cc,actions=drop",
    "dl_type=0x88cc,dl_src=00:00:00:00:00:01,in_port=1,dl_vlan=5,actions=drop",
    "ip,nw_proto=47,nw_ttl=3,nw_src=10.0.0.1,actions=drop",
    "ipv6,nw_proto=47,ipv6_label=0x12/0xff,actions=drop",
    "icmp,icmp_type=8,icmp_code=0,actions=drop",
    "sctp6,sctp_src=9,actions=drop",
    "dl_vlan_pcp=3,dl_vlan=5,actions=drop",
    "vlan_tci=0x1005/0x1fff,actions=drop",
    "vlan_tci=0x0005/0x0fff,actions=drop",
    "vlan_tci=0x1000/0x1000,actions=drop",
    "vlan_tci=0,actions=drop",
    "dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,dl_src=AA:bb:0:1:2:3,actions=drop",
    "tcp,tcp_flags=+syn-ack,actions=drop",
    "ip,ip_dscp=10,nw_ecn=1,nw_ttl=64,ip_frag=first,actions=drop",
    "tcp,tp_dst=0x1000/0xf000,actions=drop",
    "reg0=0x10/0xff,metadata=5,reg7=1,actions=drop",
    "icmp6,icmp_type=135,nd_target=fe80::1,nd_sll=00:11:22:33:44:55,actions=drop",
    "ipv6,ipv6_src=2001:db8::/32,ipv6_dst=::1,ipv6_label=0x12345,actions=drop",
    "in_port=1,actions=output:2,controller,resubmit(,3),mod_dl_src:00:11:22:33:44:55",
    "in_port=LOCAL,actions=in_port,local,all,output:40,resubmit:2,resubmit(3,2)",
    "tcp,actions=set_field:80->tp_dst,mod_tp_src:1,mod_nw_tos:8,dec_ttl",
    "table=20,priority=300,ip,actions=mod_nw_ttl:64,resubmit(,30)",
    "arp,actions=set_field:1.2.3.4->nw_src,set_field:2->arp_op",
    "ip,actions=mod_nw_src:10.0.0.1,mod_nw_dst:10.0.0.2,set_field:1->nw_ecn,set_field:3->nw_ttl",
    "actions=mod_vlan_vid:7,mod_vlan_pcp:2,strip_vlan",
    "actions=push_vlan:0x8100,set_field:0x3->reg2,set_field:00:00:00:00:00:09->eth_dst",
    "ipv6,actions=set_field:fe80::1->ipv6_dst,set_field:5->ipv6_label",
    "table=1,actions=controller(max_len=128),goto_table:2",
    "table=0,priority=470,ip,actions=ct(table=10)",
    "table=10,priority=500,ct_state=-trk,actions=drop",
    "table=10,priority=400,ct_state=+est+trk,ip,actions=ct(commit,zone=5),output:2",
    "ct_state=+new+trk,ct_zone=3,ct_mark=0x1/0xff,ip,"
    "actions=ct(commit,exec(set_field:0x2->ct_mark)),ct_clear",
    "actions=load:0x5->NXM_NX_REG0[0..3],move:NXM_OF_IN_PORT[]->NXM_NX_REG1[0..15]",
    "ip,actions=move:NXM_OF_IP_SRC[]->NXM_NX_REG2[],load:0x1->NXM_NX_REG3[31]",
};

// One line through ovs-ofctl parse-flows in `protocol` ("" for its default):
// the flow as OVS printed it, or "" when that protocol cannot carry it.
std::string ovs_parse(const std::string& line, const std::string& protocol) {
  const std::string file = fmt::format("/tmp/ssw-printer-{}.flows", ::getpid());
  std::ofstream(file) << line << "\n";
  std::vector<std::string> argv{kOvsOfctl};
  if (!protocol.empty()) argv.insert(argv.end(), {"-O", protocol});
  argv.insert(argv.end(), {"parse-flows", file});
  const net::CommandResult r = net::run_command(argv, 5s);
  std::filesystem::remove(file);
  if (!r.ok()) return "";
  static const std::regex add(R"(_FLOW_MOD[^:]*: ADD (.*))");
  std::smatch m;
  std::istringstream in(r.output);
  for (std::string l; std::getline(in, l);)
    if (std::regex_search(l, m, add)) return m[1];
  return "";
}

// A flow line, OVS's ("table:2 priority=7 cookie:0x5 idle:10 hard:9
// actions=drop") or sockswitch's ("cookie=0x5, table=2, ..., priority=7
// actions=drop"), as its match and its list of actions.
struct Printed {
  std::string match;
  std::vector<std::string> actions;
};
Printed split(std::string line) {
  static const std::regex extras(
      R"((^| )(table|cookie|idle|hard|importance):[^ ]*|(cookie|table|idle_timeout|hard_timeout)=[^ ]*, )");
  line = std::regex_replace(line, extras, "");
  if (!line.empty() && line.front() == ' ') line.erase(0, 1);
  const std::size_t at = line.find("actions=");
  Printed p{line.substr(0, at), {}};
  while (!p.match.empty() && (p.match.back() == ' ' || p.match.back() == ','))
    p.match.pop_back();
  const std::string actions = at == std::string::npos ? "" : line.substr(at + 8);
  int depth = 0;
  std::string one;
  for (char c : actions) {  // commas inside ct(...) or resubmit(,N) do not split
    depth += c == '(' ? 1 : c == ')' ? -1 : 0;
    if (c == ',' && depth == 0) {
      p.actions.push_back(one);
      one.clear();
    } else {
      one += c;
    }
  }
  if (!one.empty()) p.actions.push_back(one);
  return p;
}

TEST(FlowPrinterOvs, EveryCorpusFlowPrintsAsOvsOfctlPrintsIt) {
  if (::access(kOvsOfctl, X_OK) != 0) SOCKSWITCH_SKIP("ovs-ofctl is not installed");
  std::vector<std::string> lines = kCorpus;
  // The seed deployments' tables as shipped, ports by number.
  for (const char* f : {"vps-socket.flows", "vps-socket-ct.flows", "oo1424oo-socket.flows"}) {
    std::istringstream in(
        control::read_text_file(std::string(SOCKSWITCH_SOURCE_DIR) + "/configs/" + f));
    for (std::string l; std::getline(in, l);)
      if (!l.empty() && l[0] != '#') lines.push_back(l);
  }
  PortMap named;
  std::uint32_t next = 1;
  for (const char* name : {"nm-server", "warp0", "veth102", "nm-privacy", "veth200", "veth201",
                           "veth202", "veth203", "veth204"})
    named.add(name, flowtable::PortNo{next++});
  const PortMap numbers;
  int compared = 0;
  for (const std::string& line : lines) {
    SCOPED_TRACE(line);
    PortMap ports = named;
    const flowtable::FlowRule rule = flowtable::parse_flow(line, ports, FlowSyntax::add);
    const std::string numeric = flowtable::format_flow(rule, numbers);
    const Printed ours = split(numeric);
    // OpenFlow 1.0 turns actions it has no code for into register loads
    // (mod_nw_ttl:64 reads back as load:0x40->NXM_NX_IP_TTL[]), 1.3 into
    // set_field: each action must read as OVS prints it in one of the two.
    std::vector<Printed> seen;
    for (const char* protocol : {"", "OpenFlow13"})
      if (const std::string ovs = ovs_parse(numeric, protocol); !ovs.empty())
        seen.push_back(split(ovs));
    ASSERT_FALSE(seen.empty()) << "ovs-ofctl refuses what sockswitch printed: " << numeric;
    EXPECT_EQ(ours.match, seen.front().match);
    for (std::size_t i = 0; i < ours.actions.size(); ++i) {
      const bool as_ovs = std::any_of(seen.begin(), seen.end(), [&](const Printed& o) {
        return o.actions.size() == ours.actions.size() && o.actions[i] == ours.actions[i];
      });
      EXPECT_TRUE(as_ovs) << "action " << i << ": " << ours.actions[i]
                          << "\novs-ofctl: " << ovs_parse(numeric, "")
                          << "\n      1.3: " << ovs_parse(numeric, "OpenFlow13");
    }
    ++compared;
  }
  EXPECT_GE(compared, 60);
}

}  // namespace
}  // namespace sockswitch::test
