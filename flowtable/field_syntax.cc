// flowtable/field_syntax.cc: the table of field names and prerequisites.
#include "flowtable/field_syntax.h"

#include <array>

namespace sockswitch::flowtable {
namespace {

using F = FieldId;
using V = FieldView;
using P = Prereq;

// clang-format off
constexpr std::array kFields = std::to_array<FieldSyntax>({
    // name           storage      view          prereq            bits  mask   match  write
    {"in_port",       F::in_port,  V::port,      P::none,           32, false, true,  false},
    {"dl_src",        F::eth_src,  V::mac,       P::none,           48, true,  true,  true},
    {"eth_src",       F::eth_src,  V::mac,       P::none,           48, true,  true,  true},
    {"dl_dst",        F::eth_dst,  V::mac,       P::none,           48, true,  true,  true},
    {"eth_dst",       F::eth_dst,  V::mac,       P::none,           48, true,  true,  true},
    {"dl_type",       F::eth_type, V::number,    P::none,           16, false, true,  false},
    {"eth_type",      F::eth_type, V::number,    P::none,           16, false, true,  false},
    {"dl_vlan",       F::vlan_tci, V::vlan_vid,  P::none,           12, false, true,  true},
    {"vlan_vid",      F::vlan_tci, V::vlan_vid,  P::none,           12, false, false, true},
    {"dl_vlan_pcp",   F::vlan_tci, V::vlan_pcp,  P::none,            3, false, true,  true},
    {"vlan_pcp",      F::vlan_tci, V::vlan_pcp,  P::none,            3, false, true,  true},
    {"vlan_tci",      F::vlan_tci, V::number,    P::none,           16, true,  true,  false},
    {"nw_src",        F::ipv4_src, V::ipv4,      P::ipv4_or_arp,    32, true,  true,  true},
    {"ip_src",        F::ipv4_src, V::ipv4,      P::ipv4_or_arp,    32, true,  true,  true},
    {"ipv4_src",      F::ipv4_src, V::ipv4,      P::ipv4_or_arp,    32, true,  true,  true},
    {"nw_dst",        F::ipv4_dst, V::ipv4,      P::ipv4_or_arp,    32, true,  true,  true},
    {"ip_dst",        F::ipv4_dst, V::ipv4,      P::ipv4_or_arp,    32, true,  true,  true},
    {"ipv4_dst",      F::ipv4_dst, V::ipv4,      P::ipv4_or_arp,    32, true,  true,  true},
    {"nw_proto",      F::ip_proto, V::number,    P::ip_any_or_arp,   8, false, true,  false},
    {"ip_proto",      F::ip_proto, V::number,    P::ip_any_or_arp,   8, false, true,  false},
    {"nw_tos",        F::ip_tos,   V::tos,       P::ip_any,          8, false, true,  false},
    {"ip_dscp",       F::ip_tos,   V::dscp,      P::ip_any,          6, false, true,  true},
    {"nw_ecn",        F::ip_tos,   V::ecn,       P::ip_any,          2, false, true,  true},
    {"ip_ecn",        F::ip_tos,   V::ecn,       P::ip_any,          2, false, true,  true},
    {"nw_ttl",        F::ip_ttl,   V::number,    P::ip_any,          8, false, true,  true},
    {"ip_frag",       F::ip_frag,  V::frag,      P::ip_any,          2, false, true,  false},
    {"nw_frag",       F::ip_frag,  V::frag,      P::ip_any,          2, false, true,  false},
    {"tp_src",        F::tp_src,   V::number,    P::tcp_udp_sctp,   16, true,  true,  true},
    {"tp_dst",        F::tp_dst,   V::number,    P::tcp_udp_sctp,   16, true,  true,  true},
    {"tcp_src",       F::tp_src,   V::number,    P::tcp,            16, true,  true,  true},
    {"tcp_dst",       F::tp_dst,   V::number,    P::tcp,            16, true,  true,  true},
    {"udp_src",       F::tp_src,   V::number,    P::udp,            16, true,  true,  true},
    {"udp_dst",       F::tp_dst,   V::number,    P::udp,            16, true,  true,  true},
    {"sctp_src",      F::tp_src,   V::number,    P::sctp,           16, true,  true,  true},
    {"sctp_dst",      F::tp_dst,   V::number,    P::sctp,           16, true,  true,  true},
    {"tcp_flags",     F::tcp_flags, V::tcp_flags, P::tcp,           12, true,  true,  false},
    {"icmp_type",     F::tp_src,   V::number,    P::icmp_any,        8, false, true,  false},
    {"icmp_code",     F::tp_dst,   V::number,    P::icmp_any,        8, false, true,  false},
    {"icmpv6_type",   F::tp_src,   V::number,    P::icmp6,           8, false, true,  false},
    {"icmpv6_code",   F::tp_dst,   V::number,    P::icmp6,           8, false, true,  false},
    {"arp_op",        F::ip_proto, V::number,    P::arp,             8, false, true,  true},
    {"arp_spa",       F::ipv4_src, V::ipv4,      P::arp,            32, true,  true,  true},
    {"arp_tpa",       F::ipv4_dst, V::ipv4,      P::arp,            32, true,  true,  true},
    {"arp_sha",       F::arp_sha,  V::mac,       P::arp,            48, true,  true,  true},
    {"arp_tha",       F::arp_tha,  V::mac,       P::arp,            48, true,  true,  true},
    {"ipv6_src",      F::ipv6_src, V::ipv6,      P::ipv6,          128, true,  true,  true},
    {"ipv6_dst",      F::ipv6_dst, V::ipv6,      P::ipv6,          128, true,  true,  true},
    {"ipv6_label",    F::ipv6_label, V::number,  P::ipv6,           20, true,  true,  true},
    {"nd_target",     F::nd_target, V::ipv6,     P::nd,            128, true,  true,  false},
    {"nd_sll",        F::arp_sha,  V::mac,       P::nd_ns,          48, true,  true,  false},
    {"nd_tll",        F::arp_tha,  V::mac,       P::nd_na,          48, true,  true,  false},
    {"metadata",      F::metadata, V::number,    P::none,           64, true,  true,  true},
    {"reg0",          F::reg0,     V::number,    P::none,           32, true,  true,  true},
    {"reg1",          F::reg1,     V::number,    P::none,           32, true,  true,  true},
    {"reg2",          F::reg2,     V::number,    P::none,           32, true,  true,  true},
    {"reg3",          F::reg3,     V::number,    P::none,           32, true,  true,  true},
    {"reg4",          F::reg4,     V::number,    P::none,           32, true,  true,  true},
    {"reg5",          F::reg5,     V::number,    P::none,           32, true,  true,  true},
    {"reg6",          F::reg6,     V::number,    P::none,           32, true,  true,  true},
    {"reg7",          F::reg7,     V::number,    P::none,           32, true,  true,  true},
    // Written only by ct() (ct_mark inside its exec()), never by set_field.
    {"ct_state",      F::ct_state, V::ct_state,  P::none,            8, true,  true,  false},
    {"ct_zone",       F::ct_zone,  V::number,    P::none,           16, false, true,  false},
    {"ct_mark",       F::ct_mark,  V::number,    P::none,           32, true,  true,  false},
});
// clang-format on

constexpr std::array<std::string_view, 9> kTcpFlags{"fin", "syn", "rst", "psh", "ack",
                                                    "urg", "ece", "cwr", "ns"};
constexpr std::array<std::string_view, 8> kCtStateFlags{"new", "est", "rel",  "rpl",
                                                        "inv", "trk", "snat", "dnat"};

const FieldSyntax& by_name(std::string_view name) noexcept {
  return *find_field_syntax(name);
}

bool eth_is(const Match& m, std::uint16_t t) noexcept {
  return m.is_exact(FieldId::eth_type, t);
}
bool proto_is(const Match& m, std::uint8_t p) noexcept {
  return m.is_exact(FieldId::ip_proto, p);
}
bool is_ip(const Match& m) noexcept {
  return eth_is(m, kEthTypeIpv4) || eth_is(m, kEthTypeIpv6);
}
bool is_icmp6(const Match& m) noexcept {
  return eth_is(m, kEthTypeIpv6) && proto_is(m, kIpProtoIcmpv6);
}
// Neighbour discovery as OVS (and the extractor) reads it: ICMPv6 type 135
// or 136 with code 0; a flow that asks for another code never sees the
// target or link-layer options.
bool nd_type_is(const Match& m, std::uint16_t t) noexcept {
  const bool code_zero = !m.has(FieldId::tp_dst) || m.is_exact(FieldId::tp_dst, 0);
  return is_icmp6(m) && m.is_exact(FieldId::tp_src, t) && code_zero;
}

}  // namespace

const FieldSyntax* find_field_syntax(std::string_view name) noexcept {
  for (const FieldSyntax& f : kFields)
    if (f.name == name) return &f;
  return nullptr;
}

std::span<const FieldSyntax> field_syntaxes() noexcept {
  return kFields;
}

const FieldSyntax& arp_view_of(const FieldSyntax& s) noexcept {
  if (s.prereq == Prereq::ipv4_or_arp)
    return by_name(s.storage == FieldId::ipv4_src ? "arp_spa" : "arp_tpa");
  if (s.prereq == Prereq::ip_any_or_arp) return by_name("arp_op");
  return s;
}

bool match_is_arp(const Match& m) noexcept {
  return eth_is(m, kEthTypeArp) || eth_is(m, kEthTypeRarp);
}

bool prereq_met(const Match& m, Prereq p) noexcept {
  switch (p) {
    case Prereq::none:
      return true;
    case Prereq::ip_any:
      return is_ip(m);
    case Prereq::ipv4_or_arp:
      return eth_is(m, kEthTypeIpv4) || match_is_arp(m);
    case Prereq::ip_any_or_arp:
      return is_ip(m) || match_is_arp(m);
    case Prereq::ipv4:
      return eth_is(m, kEthTypeIpv4);
    case Prereq::ipv6:
      return eth_is(m, kEthTypeIpv6);
    case Prereq::arp:
      return match_is_arp(m);
    case Prereq::tcp:
      return is_ip(m) && proto_is(m, kIpProtoTcp);
    case Prereq::udp:
      return is_ip(m) && proto_is(m, kIpProtoUdp);
    case Prereq::sctp:
      return is_ip(m) && proto_is(m, kIpProtoSctp);
    case Prereq::tcp_udp_sctp:
      return is_ip(m) &&
             (proto_is(m, kIpProtoTcp) || proto_is(m, kIpProtoUdp) || proto_is(m, kIpProtoSctp));
    case Prereq::icmp_any:
      return (eth_is(m, kEthTypeIpv4) && proto_is(m, kIpProtoIcmp)) || is_icmp6(m);
    case Prereq::icmp6:
      return is_icmp6(m);
    case Prereq::nd:
      return nd_type_is(m, 135) || nd_type_is(m, 136);
    case Prereq::nd_ns:
      return nd_type_is(m, 135);
    case Prereq::nd_na:
      return nd_type_is(m, 136);
  }
  return false;
}

std::string_view prereq_text(Prereq p) noexcept {
  switch (p) {
    case Prereq::none:
      return "nothing";
    case Prereq::ip_any:
      return "ip or ipv6";
    case Prereq::ipv4_or_arp:
      return "ip or arp";
    case Prereq::ip_any_or_arp:
      return "ip, ipv6 or arp";
    case Prereq::ipv4:
      return "ip";
    case Prereq::ipv6:
      return "ipv6";
    case Prereq::arp:
      return "arp or rarp";
    case Prereq::tcp:
      return "tcp or tcp6";
    case Prereq::udp:
      return "udp or udp6";
    case Prereq::sctp:
      return "sctp or sctp6";
    case Prereq::tcp_udp_sctp:
      return "tcp, udp or sctp";
    case Prereq::icmp_any:
      return "icmp or icmp6";
    case Prereq::icmp6:
      return "icmp6";
    case Prereq::nd:
      return "icmp6 with icmp_type=135 or 136 and icmp_code=0 (or none)";
    case Prereq::nd_ns:
      return "icmp6 with icmp_type=135 and icmp_code=0 (or none)";
    case Prereq::nd_na:
      return "icmp6 with icmp_type=136 and icmp_code=0 (or none)";
  }
  return "?";
}

FlowMask owned_bits(const FieldSyntax& s) noexcept {
  FlowMask m;
  switch (s.view) {
    case FieldView::vlan_vid:
      m.set(s.storage, 0x0fff);
      return m;
    case FieldView::vlan_pcp:
      m.set(s.storage, 0xe000);
      return m;
    case FieldView::tos:
    case FieldView::dscp:
      m.set(s.storage, 0xfc);
      return m;
    case FieldView::ecn:
      m.set(s.storage, 0x03);
      return m;
    default:
      return full_mask(s.storage);
  }
}

std::span<const std::string_view> tcp_flag_names() noexcept {
  return kTcpFlags;
}

std::span<const std::string_view> ct_state_flag_names() noexcept {
  return kCtStateFlags;
}

}  // namespace sockswitch::flowtable
