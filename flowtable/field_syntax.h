// flowtable/field_syntax.h: every field name flow text may use, and what it
// means in storage.
//
// FlowKey has one storage field per header field; flow text has many more
// names: classic (`dl_src`, `nw_src`, `tp_dst`), OXM-style (`eth_src`,
// `ipv4_src`, `tcp_dst`) and views onto part of a storage field (`dl_vlan` is
// the VID bits of vlan_tci, `ip_dscp` the top six bits of ip_tos, `icmp_type`
// lives in tp_src). This table is the single place that says, for each name,
// which storage field it writes, how its text maps to bits, and which other
// fields must be matched for it to make sense (its prerequisite). The match
// parser, the set_field action and the printer all read it.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "flowtable/flow_key.h"
#include "flowtable/match.h"

namespace sockswitch::flowtable {

// How a field's text becomes storage bits.
enum class FieldView : std::uint8_t {
  number,     // plain unsigned number of `bits` bits, stored as is
  mac,        // xx:xx:xx:xx:xx:xx
  ipv4,       // A.B.C.D, mask as /N or /A.B.C.D
  ipv6,       // IPv6 address, mask as /N or /address
  port,       // OpenFlow port: name, number or LOCAL
  vlan_vid,   // dl_vlan: 0..4095 -> tci 0x1000|vid under 0x1fff; 0xffff: no tag
  vlan_pcp,   // dl_vlan_pcp: 0..7 -> tci 0x1000|pcp<<13 under 0xf000
  tos,        // nw_tos: the TOS byte's DSCP bits (multiple of 4) under 0xfc
  dscp,       // ip_dscp: 0..63 -> <<2 under 0xfc
  ecn,        // nw_ecn: 0..3 under 0x03
  frag,       // ip_frag: no|first|later|yes|not_later
  tcp_flags,  // 12-bit number V[/M] or +syn-ack flag syntax
  ct_state,   // 8-bit number V[/M] or +trk+est-inv flag syntax
};

// What the rest of the match must say for a field to be meaningful.
enum class Prereq : std::uint8_t {
  none,
  ip_any,         // ip or ipv6
  ipv4_or_arp,    // nw_src/nw_dst: ip, or arp/rarp where they mean arp_spa/arp_tpa
  ip_any_or_arp,  // nw_proto: ip or ipv6, or arp/rarp where it means arp_op
  ipv4,           // ip
  ipv6,
  arp,  // arp or rarp
  tcp,
  udp,
  sctp,
  tcp_udp_sctp,
  icmp_any,  // icmp or icmp6
  icmp6,
  nd,     // icmp6 with icmp_type 135 or 136
  nd_ns,  // icmp6 with icmp_type 135
  nd_na,  // icmp6 with icmp_type 136
};

struct FieldSyntax {
  std::string_view name;
  FieldId storage;
  FieldView view;
  Prereq prereq;
  std::uint8_t bits;  // value width for number views
  bool maskable;      // accepts "/mask"
  bool matchable;     // false: only a set_field target (vlan_vid)
  bool writable;      // a set_field target
};

// The syntax entry for a name as written (case-sensitive, as ovs-ofctl), or
// nullptr. Also finds set_field-only names; check `matchable`.
[[nodiscard]] const FieldSyntax* find_field_syntax(std::string_view name) noexcept;
// Every name, in table order (for tests that hold the table to OVS).
[[nodiscard]] std::span<const FieldSyntax> field_syntaxes() noexcept;

// Under arp/rarp the IPv4 names mean the ARP fields (as in OVS): nw_src is
// arp_spa, nw_dst arp_tpa, nw_proto arp_op. Returns `s` when no remap applies.
[[nodiscard]] const FieldSyntax& arp_view_of(const FieldSyntax& s) noexcept;

[[nodiscard]] bool prereq_met(const Match& m, Prereq p) noexcept;
// "tcp, udp or sctp"
[[nodiscard]] std::string_view prereq_text(Prereq p) noexcept;

// Whether the match is for ARP or RARP frames (where IPv4 names are remapped).
[[nodiscard]] bool match_is_arp(const Match& m) noexcept;

// The storage bits a view owns; two fields given in one flow may not own
// the same bit ("given twice"). The CFI bit belongs to neither VLAN view,
// so dl_vlan and dl_vlan_pcp combine.
[[nodiscard]] FlowMask owned_bits(const FieldSyntax& s) noexcept;

// TCP flag names in bit order (fin = bit 0 ... ns = bit 8).
[[nodiscard]] std::span<const std::string_view> tcp_flag_names() noexcept;
// ct_state flag names in bit order (new = bit 0 ... dnat = bit 7).
[[nodiscard]] std::span<const std::string_view> ct_state_flag_names() noexcept;

}  // namespace sockswitch::flowtable
