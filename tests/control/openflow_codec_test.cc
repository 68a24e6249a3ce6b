// tests/control/openflow_codec_test.cc: matches and actions to the wire and
// back, and the refusals of malformed ones (no sockets, no root).
//
// Every flow of the shipped flow files and a list that touches every field
// and action kind is parsed from text, encoded (NXM and OXM matches; 1.0
// and 1.3 actions) and decoded again: the decoded flow must be the parsed
// one. Rewrites that 1.3 carries as SET_FIELD (mod_dl_src, mod_nw_dst,
// mod_tp_dst) come back as the set_field of the same field and value, and
// 1.0's lossy spellings (goto_table as resubmit, push_vlan implied by the
// VID rewrite) are excluded from the 1.0 round trip, as OVS has them.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "control/openflow/ofp_actions.h"
#include "control/openflow/ofp_match.h"
#include "flowtable/flow_parser.h"

namespace sockswitch::control::openflow {
namespace {

using flowtable::Action;
using flowtable::ActionKind;
using flowtable::ActionList;
using flowtable::FlowRule;

// clang-format off
const std::vector<std::string> kFlows = {
    "priority=100,tcp,tp_dst=443,actions=output:1",
    "in_port=2,dl_src=02:00:00:00:00:01/ff:ff:ff:00:00:00,dl_dst=02:00:00:00:00:02,actions=normal",
    "dl_vlan=5,dl_vlan_pcp=3,actions=strip_vlan,flood",
    "vlan_tci=0x1005/0x1fff,actions=mod_vlan_vid:7,mod_vlan_pcp:2,all",
    "ip,nw_src=10.0.0.0/8,nw_dst=192.168.1.1,nw_tos=32,nw_ecn=1,nw_ttl=64,actions=dec_ttl,in_port",
    "ip,ip_frag=later,actions=local",
    "table=20,priority=300,ip,actions=mod_nw_ttl:64,resubmit(,30)",
    "udp,udp_src=53,udp_dst=0x1000/0xf000,actions=mod_tp_dst:5353,output:3",
    "sctp,sctp_dst=9,actions=controller:128",
    "tcp,tcp_flags=+syn-ack,actions=mod_nw_dst:10.1.2.3,mod_nw_src:10.3.2.1,output:1",
    "icmp,icmp_type=8,icmp_code=0,actions=mod_nw_tos:64,output:1",
    "arp,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.0/24,arp_sha=02:00:00:00:00:09,actions="
    "set_field:2->arp_op,set_field:02:00:00:00:00:0a->arp_sha,set_field:10.9.9.9->arp_spa,in_port",
    "ipv6,ipv6_src=2001:db8::/32,ipv6_dst=fe80::1,ipv6_label=0x12345,actions=set_field:fe80::2->ipv6_dst,output:1",
    "icmp6,icmpv6_type=135,nd_target=fe80::1,nd_sll=02:00:00:00:00:01,actions=normal",
    "icmp6,icmpv6_type=136,nd_tll=02:00:00:00:00:02,actions=normal",
    "metadata=0x5/0xff,reg0=1,reg7=0x10/0xf0,actions=set_field:0x9->reg3,set_field:0x1234->metadata,resubmit(,3)",
    "table=1,priority=5,ip,actions=set_field:3->ip_ecn,set_field:0x2e->ip_dscp,resubmit(4,2),goto_table:7",
    "tcp6,tp_src=22,actions=set_field:2222->tcp_src,output:1",
    "dl_type=0x88cc,actions=drop",
    "priority=0,actions=push_vlan:0x8100,mod_vlan_vid:10,output:2",
    "actions=set_field:02:00:00:00:00:05->eth_dst,mod_dl_src:02:00:00:00:00:06,output:1",
    "table=0,priority=470,ip,actions=ct(table=10)",
    "table=10,priority=500,ct_state=-trk,actions=drop",
    "priority=6,ct_state=+est-rpl+trk,ct_zone=7,ct_mark=0x1/0xff,actions=ct_clear,normal",
    "ip,actions=ct(commit,zone=7,table=3,exec(set_field:0x1->ct_mark)),output:1",
    "ipv6,actions=ct(commit,exec(set_field:0x10/0xf0->ct_mark))",
    "tcp,actions=load:0x3->NXM_NX_REG0[0..1],move:NXM_OF_TCP_SRC[]->NXM_NX_REG1[0..15],output:1",
    "udp,actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],load:0x7->NXM_OF_IP_SRC[0..7],"
    "move:NXM_OF_UDP_DST[]->NXM_OF_UDP_SRC[],load:0x1->OXM_OF_METADATA[63],output:1",
};
// clang-format on

std::vector<std::string> shipped_flows() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(SOCKSWITCH_SOURCE_DIR "/configs")) {
    if (e.path().extension() != ".flows") continue;
    std::ifstream in(e.path());
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && line[0] != '#') out.push_back(line);
  }
  return out;
}

FlowRule parse_rule(const std::string& text) {
  flowtable::PortMap ports;
  ports.set_auto_number(true);
  return flowtable::parse_flow(text, ports, flowtable::FlowSyntax::add);
}

// A rewrite 1.3 sends as SET_FIELD, as the set_field it decodes to (and
// strip_vlan as pop_vlan: the same action in two spellings). 1.0 has no
// TTL action: mod_nw_ttl goes as a set_field of nw_ttl, as OVS sends it.
ActionList as_set_fields(ActionList actions, std::uint8_t version = kVersion13) {
  for (Action& a : actions) {
    if (a.kind == ActionKind::mod_nw_ttl && version == kVersion10) a.kind = ActionKind::set_field;
    switch (a.kind) {
      case ActionKind::strip_vlan:
        a.kind = ActionKind::pop_vlan;
        break;
      case ActionKind::mod_dl_src:
      case ActionKind::mod_dl_dst:
      case ActionKind::mod_nw_src:
      case ActionKind::mod_nw_dst:
      case ActionKind::mod_tp_src:
      case ActionKind::mod_tp_dst:
        a.kind = ActionKind::set_field;
        break;
      default:
        break;
    }
  }
  return actions;
}

bool lossy_in_10(const ActionList& actions) {
  for (const Action& a : actions)
    if (a.kind == ActionKind::goto_table || a.kind == ActionKind::push_vlan) return true;
  return false;
}

TEST(OpenFlowCodec, EveryFlowRoundTripsThroughNxmOxmAnd10And13Actions) {
  std::vector<std::string> flows = kFlows;
  const std::vector<std::string> shipped = shipped_flows();
  ASSERT_GT(shipped.size(), 10u);
  flows.insert(flows.end(), shipped.begin(), shipped.end());
  for (const std::string& text : flows) {
    SCOPED_TRACE(text);
    const FlowRule rule = parse_rule(text);
    for (const bool oxm : {false, true}) {
      WireWriter w;
      const std::size_t n = encode_tlv_match(w, rule.match, oxm);
      EXPECT_EQ(n, w.size());
      EXPECT_EQ(decode_tlv_match(w.bytes()), rule.match) << (oxm ? "OXM" : "NXM");
    }
    for (const std::uint8_t version : {kVersion10, kVersion13}) {
      if (version == kVersion10 && lossy_in_10(rule.actions)) continue;
      WireWriter w;
      encode_actions(w, rule.actions, version, rule.match);
      WireReader r(w.bytes());
      const ActionList back =
          version == kVersion10 ? decode_actions(r, version, rule) : decode_instructions(r, rule);
      EXPECT_EQ(as_set_fields(back, version), as_set_fields(rule.actions, version))
          << "version " << int(version);
    }
  }
}

TEST(OpenFlowCodec, GotoTableIsResubmitIn10AsOvsSendsIt) {
  const FlowRule rule = parse_rule("table=1,ip,actions=goto_table:4");
  WireWriter w;
  encode_actions(w, rule.actions, kVersion10, rule.match);
  WireReader r(w.bytes());
  const ActionList back = decode_actions(r, kVersion10, rule);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].kind, ActionKind::resubmit);
  EXPECT_EQ(back[0].table, 4);
}

OfpCode refusal(const std::vector<std::uint8_t>& tlvs) {
  try {
    (void)decode_tlv_match(tlvs);
  } catch (const OfpError& e) {
    return e.code();
  }
  ADD_FAILURE() << "accepted";
  return OfpCode::eperm;
}

TEST(OpenFlowCodec, MalformedMatchesAreRefusedWithTheirOpenFlowError) {
  const std::vector<std::uint8_t> ip{0x80, 0x00, 0x0a, 0x02, 0x08, 0x00};
  const std::vector<std::uint8_t> tcp{0x80, 0x00, 0x14, 0x01, 0x06};
  const std::vector<std::uint8_t> tcp_dst{0x80, 0x00, 0x1c, 0x02, 0x01, 0xbb};
  auto cat = [](std::initializer_list<std::vector<std::uint8_t>> parts) {
    std::vector<std::uint8_t> out;
    for (const auto& p : parts)
      out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  EXPECT_EQ(refusal(tcp_dst), OfpCode::match_bad_prereq);
  EXPECT_EQ(refusal(cat({ip, tcp_dst})), OfpCode::match_bad_prereq);
  EXPECT_NO_THROW((void)decode_tlv_match(cat({ip, tcp, tcp_dst})));
  EXPECT_EQ(refusal(cat({ip, ip})), OfpCode::match_dup_field);
  EXPECT_EQ(refusal({0x80, 0x00, 0x0b, 0x04, 0x08, 0x00, 0x00, 0x00}),  // eth_type with a mask
            OfpCode::match_bad_mask);
  EXPECT_EQ(refusal({0x80, 0x00, 0x0a, 0x03, 0x08, 0x00, 0x00}),  // eth_type of 3 bytes
            OfpCode::match_bad_len);
  EXPECT_EQ(refusal({0x80, 0x00, 0x0a, 0x02, 0x08}), OfpCode::match_bad_len);  // cut short
  EXPECT_EQ(refusal({0x80, 0x00}), OfpCode::match_bad_len);
  EXPECT_EQ(refusal({0x80, 0x00, 0x7e, 0x04, 0, 0, 0, 1}), OfpCode::match_bad_field);  // field 63
  // eth_dst value with bits outside its mask
  EXPECT_EQ(refusal({0x80, 0x00, 0x07, 0x0c, 0xff, 0, 0, 0, 0, 1, 0xff, 0, 0, 0, 0, 0}),
            OfpCode::match_bad_value);
  // in_port: a reserved port other than LOCAL cannot be matched
  EXPECT_EQ(refusal({0x80, 0x00, 0x00, 0x04, 0xff, 0xff, 0xff, 0xfb}), OfpCode::match_bad_value);
}

TEST(OpenFlowCodec, ARewriteWithoutItsPrerequisiteIsMatchInconsistent) {
  const FlowRule rule = parse_rule("actions=normal");  // no ip in the match
  // 1.3 SET_FIELD ipv4_dst=10.0.0.1, and 1.0 SET_NW_DST
  const std::vector<std::uint8_t> set13{0x00, 0x19, 0x00, 0x10, 0x80, 0x00, 0x18, 0x04,
                                        10,   0,    0,    1,    0,    0,    0,    0};
  const std::vector<std::uint8_t> set10{0x00, 0x07, 0x00, 0x08, 10, 0, 0, 1};
  for (const auto& [version, bytes] :
       {std::pair{kVersion13, set13}, std::pair{kVersion10, set10}}) {
    WireReader r(bytes);
    try {
      (void)decode_actions(r, version, rule);
      ADD_FAILURE() << "accepted";
    } catch (const OfpError& e) {
      EXPECT_EQ(e.code(), OfpCode::action_match_inconsistent) << e.what();
    }
  }
}

// Found by openflow_codec_fuzz: a REG_LOAD of all 48 bits of eth_dst under
// a header whose length byte was 0 decoded as a load, which encodes back
// (with the true length) as the set_field of a whole-field load.
TEST(OpenFlowCodec, ARegisterActionHeaderMustCarryItsFieldsLength) {
  const FlowRule rule = parse_rule("actions=normal");
  auto reg_load = [](std::uint8_t header_len) {
    return std::vector<std::uint8_t>{
        0xff, 0xff, 0x00, 0x18,       0x00, 0x00, 0x23, 0x20,  // Nicira
        0x00, 0x07, 0x00, 0x2f,                                // REG_LOAD, ofs 0, 48 bits
        0x00, 0x00, 0x02, header_len,                          // NXM_OF_ETH_DST
        0,    0,    0x02, 0,          0,    0,    0,    0x01};
  };
  const std::vector<std::uint8_t> whole = reg_load(6);
  WireReader good(whole);
  const ActionList back = decode_actions(good, kVersion10, rule);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].kind, ActionKind::set_field);
  for (const std::uint8_t len : {0, 4, 8}) {
    const std::vector<std::uint8_t> bytes = reg_load(len);
    WireReader r(bytes);
    try {
      (void)decode_actions(r, kVersion10, rule);
      ADD_FAILURE() << "accepted a header of length " << int(len);
    } catch (const OfpError& e) {
      EXPECT_EQ(e.code(), OfpCode::action_bad_argument) << e.what();
    }
  }
}

TEST(OpenFlowCodec, OpenFlow10MatchIgnoresFieldsItsProtocolLacks) {
  // dl_type=ARP with nw_proto=1 (the opcode), tp_dst=80 (no meaning for ARP)
  WireWriter w;
  // wildcard in_port, dl_vlan, dl_src, dl_dst, tp_src, nw_src/dst, pcp, tos
  w.u32(0x1 | 0x2 | 0x4 | 0x8 | 0x40 | 32 << 8 | 32 << 14 | 1 << 20 | 1 << 21);
  w.u16(0);
  w.zeros(12);
  w.u16(0);
  w.u8(0);
  w.u8(0);
  w.u16(0x0806);
  w.u8(0);
  w.u8(1);
  w.u16(0);
  w.u32(0);
  w.u32(0);
  w.u16(0);
  w.u16(80);
  WireReader r(w.bytes());
  const flowtable::Match m = decode_ofp10_match(r);
  EXPECT_EQ(m, parse_rule("arp,arp_op=1,actions=drop").match);
}

}  // namespace
}  // namespace sockswitch::control::openflow
