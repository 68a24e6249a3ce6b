// control/openflow/ofp_tlv_fields.cc: the NXM/OXM field table.
#include "control/openflow/ofp_tlv_fields.h"

#include <fmt/format.h>

#include <array>
#include <stdexcept>

#include "control/openflow/ofp_match.h"

namespace sockswitch::control::openflow {
namespace {

using flowtable::FieldId;
using flowtable::Match;
using flowtable::Prereq;

using F = FieldId;
using C = Conv;
using P = Prereq;

// clang-format off
constexpr std::array kTlvFields = std::to_array<TlvField>({
    // NXM_OF_*
    {kNxmOf,  0,  2, false, F::in_port,   C::port16,   P::none,       false, false, "in_port"},
    {kNxmOf,  1,  6, true,  F::eth_dst,   C::plain,    P::none,       false, true,  "eth_dst"},
    {kNxmOf,  2,  6, true,  F::eth_src,   C::plain,    P::none,       false, true,  "eth_src"},
    {kNxmOf,  3,  2, false, F::eth_type,  C::plain,    P::none,       false, false, "eth_type"},
    {kNxmOf,  4,  2, true,  F::vlan_tci,  C::plain,    P::none,       false, false, "vlan_tci"},
    {kNxmOf,  5,  1, false, F::ip_tos,    C::tos_dscp, P::ip_any,     false, true,  "nw_tos"},
    {kNxmOf,  6,  1, false, F::ip_proto,  C::plain,    P::ip_any,     false, false, "ip_proto"},
    {kNxmOf,  7,  4, true,  F::ipv4_src,  C::plain,    P::ipv4,       false, true,  "ipv4_src"},
    {kNxmOf,  8,  4, true,  F::ipv4_dst,  C::plain,    P::ipv4,       false, true,  "ipv4_dst"},
    {kNxmOf,  9,  2, true,  F::tp_src,    C::plain,    P::tcp,        false, true,  "tcp_src"},
    {kNxmOf, 10,  2, true,  F::tp_dst,    C::plain,    P::tcp,        false, true,  "tcp_dst"},
    {kNxmOf, 11,  2, true,  F::tp_src,    C::plain,    P::udp,        false, true,  "udp_src"},
    {kNxmOf, 12,  2, true,  F::tp_dst,    C::plain,    P::udp,        false, true,  "udp_dst"},
    {kNxmOf, 13,  1, false, F::tp_src,    C::plain,    P::icmp_any,   true,  false, "icmp_type"},
    {kNxmOf, 14,  1, false, F::tp_dst,    C::plain,    P::icmp_any,   true,  false, "icmp_code"},
    {kNxmOf, 15,  2, false, F::ip_proto,  C::arp_op16, P::arp,        false, true,  "arp_op"},
    {kNxmOf, 16,  4, true,  F::ipv4_src,  C::plain,    P::arp,        false, true,  "arp_spa"},
    {kNxmOf, 17,  4, true,  F::ipv4_dst,  C::plain,    P::arp,        false, true,  "arp_tpa"},
    // NXM_NX_*
    {kNxmNx,  0,  4, true,  F::reg0,      C::plain,    P::none,       false, true,  "reg0"},
    {kNxmNx,  1,  4, true,  F::reg1,      C::plain,    P::none,       false, true,  "reg1"},
    {kNxmNx,  2,  4, true,  F::reg2,      C::plain,    P::none,       false, true,  "reg2"},
    {kNxmNx,  3,  4, true,  F::reg3,      C::plain,    P::none,       false, true,  "reg3"},
    {kNxmNx,  4,  4, true,  F::reg4,      C::plain,    P::none,       false, true,  "reg4"},
    {kNxmNx,  5,  4, true,  F::reg5,      C::plain,    P::none,       false, true,  "reg5"},
    {kNxmNx,  6,  4, true,  F::reg6,      C::plain,    P::none,       false, true,  "reg6"},
    {kNxmNx,  7,  4, true,  F::reg7,      C::plain,    P::none,       false, true,  "reg7"},
    {kNxmNx, 17,  6, true,  F::arp_sha,   C::plain,    P::arp,        false, true,  "arp_sha"},
    {kNxmNx, 18,  6, true,  F::arp_tha,   C::plain,    P::arp,        false, true,  "arp_tha"},
    {kNxmNx, 19, 16, true,  F::ipv6_src,  C::plain,    P::ipv6,       false, true,  "ipv6_src"},
    {kNxmNx, 20, 16, true,  F::ipv6_dst,  C::plain,    P::ipv6,       false, true,  "ipv6_dst"},
    {kNxmNx, 21,  1, false, F::tp_src,    C::plain,    P::icmp6,      false, false, "icmpv6_type"},
    {kNxmNx, 22,  1, false, F::tp_dst,    C::plain,    P::icmp6,      false, false, "icmpv6_code"},
    {kNxmNx, 23, 16, true,  F::nd_target, C::plain,    P::nd,         false, false, "nd_target"},
    {kNxmNx, 24,  6, true,  F::arp_sha,   C::plain,    P::nd_ns,      false, false, "nd_sll"},
    {kNxmNx, 25,  6, true,  F::arp_tha,   C::plain,    P::nd_na,      false, false, "nd_tll"},
    {kNxmNx, 26,  1, true,  F::ip_frag,   C::plain,    P::ip_any,     false, false, "ip_frag"},
    {kNxmNx, 27,  4, true,  F::ipv6_label, C::plain,   P::ipv6,       false, true,  "ipv6_label"},
    {kNxmNx, 28,  1, false, F::ip_tos,    C::ecn,      P::ip_any,     false, true,  "ip_ecn"},
    {kNxmNx, 29,  1, false, F::ip_ttl,    C::plain,    P::ip_any,     false, true,  "nw_ttl"},
    {kNxmNx, 34,  2, true,  F::tcp_flags, C::plain,    P::tcp,        false, false, "tcp_flags"},
    // Written only by ct() (ct_mark inside its exec()).
    {kNxmNx,105,  4, true,  F::ct_state,  C::plain,    P::none,       false, false, "ct_state"},
    {kNxmNx,106,  2, false, F::ct_zone,   C::plain,    P::none,       false, false, "ct_zone"},
    {kNxmNx,107,  4, true,  F::ct_mark,   C::plain,    P::none,       false, false, "ct_mark"},
    // OXM_OF_*
    {kOxm,    0,  4, false, F::in_port,   C::port32,   P::none,       false, false, "in_port"},
    {kOxm,    2,  8, true,  F::metadata,  C::plain,    P::none,       false, true,  "metadata"},
    {kOxm,    3,  6, true,  F::eth_dst,   C::plain,    P::none,       false, true,  "eth_dst"},
    {kOxm,    4,  6, true,  F::eth_src,   C::plain,    P::none,       false, true,  "eth_src"},
    {kOxm,    5,  2, false, F::eth_type,  C::plain,    P::none,       false, false, "eth_type"},
    {kOxm,    6,  2, true,  F::vlan_tci,  C::vid13,    P::none,       false, true,  "vlan_vid"},
    {kOxm,    7,  1, false, F::vlan_tci,  C::pcp3,     P::none,       false, true,  "vlan_pcp"},
    {kOxm,    8,  1, false, F::ip_tos,    C::dscp6,    P::ip_any,     false, true,  "ip_dscp"},
    {kOxm,    9,  1, false, F::ip_tos,    C::ecn,      P::ip_any,     false, true,  "ip_ecn"},
    {kOxm,   10,  1, false, F::ip_proto,  C::plain,    P::ip_any,     false, false, "ip_proto"},
    {kOxm,   11,  4, true,  F::ipv4_src,  C::plain,    P::ipv4,       false, true,  "ipv4_src"},
    {kOxm,   12,  4, true,  F::ipv4_dst,  C::plain,    P::ipv4,       false, true,  "ipv4_dst"},
    {kOxm,   13,  2, true,  F::tp_src,    C::plain,    P::tcp,        false, true,  "tcp_src"},
    {kOxm,   14,  2, true,  F::tp_dst,    C::plain,    P::tcp,        false, true,  "tcp_dst"},
    {kOxm,   15,  2, true,  F::tp_src,    C::plain,    P::udp,        false, true,  "udp_src"},
    {kOxm,   16,  2, true,  F::tp_dst,    C::plain,    P::udp,        false, true,  "udp_dst"},
    {kOxm,   17,  2, true,  F::tp_src,    C::plain,    P::sctp,       false, true,  "sctp_src"},
    {kOxm,   18,  2, true,  F::tp_dst,    C::plain,    P::sctp,       false, true,  "sctp_dst"},
    {kOxm,   19,  1, false, F::tp_src,    C::plain,    P::icmp_any,   true,  false, "icmp_type"},
    {kOxm,   20,  1, false, F::tp_dst,    C::plain,    P::icmp_any,   true,  false, "icmp_code"},
    {kOxm,   21,  2, false, F::ip_proto,  C::arp_op16, P::arp,        false, true,  "arp_op"},
    {kOxm,   22,  4, true,  F::ipv4_src,  C::plain,    P::arp,        false, true,  "arp_spa"},
    {kOxm,   23,  4, true,  F::ipv4_dst,  C::plain,    P::arp,        false, true,  "arp_tpa"},
    {kOxm,   24,  6, true,  F::arp_sha,   C::plain,    P::arp,        false, true,  "arp_sha"},
    {kOxm,   25,  6, true,  F::arp_tha,   C::plain,    P::arp,        false, true,  "arp_tha"},
    {kOxm,   26, 16, true,  F::ipv6_src,  C::plain,    P::ipv6,       false, true,  "ipv6_src"},
    {kOxm,   27, 16, true,  F::ipv6_dst,  C::plain,    P::ipv6,       false, true,  "ipv6_dst"},
    {kOxm,   28,  4, true,  F::ipv6_label, C::plain,   P::ipv6,       false, true,  "ipv6_label"},
    {kOxm,   29,  1, false, F::tp_src,    C::plain,    P::icmp6,      false, false, "icmpv6_type"},
    {kOxm,   30,  1, false, F::tp_dst,    C::plain,    P::icmp6,      false, false, "icmpv6_code"},
    {kOxm,   31, 16, true,  F::nd_target, C::plain,    P::nd,         false, false, "nd_target"},
    {kOxm,   32,  6, true,  F::arp_sha,   C::plain,    P::nd_ns,      false, false, "nd_sll"},
    {kOxm,   33,  6, true,  F::arp_tha,   C::plain,    P::nd_na,      false, false, "nd_tll"},
});
// clang-format on

}  // namespace

const TlvField* find_tlv(std::uint16_t cls, std::uint8_t field) noexcept {
  for (const TlvField& f : kTlvFields)
    if (f.cls == cls && f.field == field) return &f;
  return nullptr;
}

const TlvField& tlv_named(std::string_view name, bool oxm) {
  const TlvField* nxm = nullptr;
  const TlvField* ox = nullptr;
  for (const TlvField& f : kTlvFields) {
    if (f.name != name) continue;
    (f.cls == kOxm ? ox : nxm) = &f;
  }
  const TlvField* pick = oxm ? (ox ? ox : nxm) : (nxm ? nxm : ox);
  if (pick == nullptr) throw std::logic_error(fmt::format("no TLV for {}", name));
  return *pick;
}

bool needs_met(const TlvField& f, const Match& m) noexcept {
  if (f.icmp4)
    return m.is_exact(FieldId::eth_type, flowtable::kEthTypeIpv4) &&
           m.is_exact(FieldId::ip_proto, flowtable::kIpProtoIcmp);
  return flowtable::prereq_met(m, f.prereq);
}

const TlvField* tlv_storing(FieldId field, const Match& m) noexcept {
  const TlvField* oxm = nullptr;
  for (const TlvField& f : kTlvFields) {
    if (f.storage != field || !needs_met(f, m)) continue;
    if (f.cls != kOxm) return &f;
    if (oxm == nullptr) oxm = &f;
  }
  return oxm;
}

Stored to_storage(const TlvField& f, std::uint64_t v, std::optional<std::uint64_t> m) {
  const std::uint64_t all = ~std::uint64_t{0};
  auto bad = [&f](std::string_view what) {
    throw OfpError(OfpCode::match_bad_value, fmt::format("{}: {}", f.name, what));
  };
  switch (f.conv) {
    case Conv::plain: {
      const unsigned bits = flowtable::layout_of(f.storage).bits;
      if (bits < 64 && (v >> bits || (m && *m >> bits && *m != all_ones(f.len))))
        bad(fmt::format("{:#x} does not fit {} bits", v, bits));
      return {v, m ? *m : all};
    }
    case Conv::port16:
    case Conv::port32: {
      const auto p = port_from_wire(static_cast<std::uint32_t>(v),
                                    f.conv == Conv::port16 ? kVersion10 : kVersion13);
      const bool ok = p && (*p == flowtable::kPortLocal ||
                            (flowtable::to_u32(*p) >= 1 && *p <= flowtable::kPortMax));
      if (!ok) bad(fmt::format("port {:#x} cannot be matched (a port 1..0xff00 or LOCAL)", v));
      return {flowtable::to_u32(*p), all};
    }
    case Conv::tos_dscp:
      if (v & 0x03) bad("the ECN bits of a TOS match must be zero");
      return {v, 0xfc};
    case Conv::dscp6:
      if (v > 63) bad("a DSCP is 0..63");
      return {v << 2, 0xfc};
    case Conv::ecn:
      if (v > 3) bad("an ECN is 0..3");
      return {v, 0x03};
    case Conv::vid13:
      if (v > 0x1fff || (m && *m > 0x1fff)) bad("a VLAN VID match is 13 bits");
      return {v, m ? *m : 0x1fff};
    case Conv::pcp3:
      if (v > 7) bad("a VLAN PCP is 0..7");
      return {kVlanCfi | v << 13, 0xf000};
    case Conv::arp_op16:
      if (v > 0xff) bad("only the opcode's low byte is kept (as OVS does): 0..255");
      return {v, all};
  }
  return {v, all};
}

// The bits a TLV claims, for duplicate detection: a VLAN PCP shares the
// "tag present" bit with a VID, so it does not claim it.
TlvHeader read_header(WireReader& r) {
  const std::uint32_t h = r.u32();
  return {static_cast<std::uint16_t>(h >> 16), static_cast<std::uint8_t>(h >> 9 & 0x7f),
          (h >> 8 & 1) != 0, static_cast<std::uint8_t>(h & 0xff)};
}
void write_header(WireWriter& w, const TlvField& f, bool masked) {
  const unsigned len = f.len * (masked ? 2u : 1u);
  w.u32(std::uint32_t{f.cls} << 16 | std::uint32_t{f.field} << 9 | (masked ? 1u << 8 : 0u) | len);
}

// Reads one field's value (and mask) into a Match holding only that field.
std::vector<std::uint32_t> match_field_headers() {
  std::vector<std::uint32_t> out;
  for (const TlvField& f : kTlvFields)
    out.push_back(std::uint32_t{f.cls} << 16 | std::uint32_t{f.field} << 9 | f.len);
  return out;
}

std::vector<std::uint32_t> writable_field_headers() {
  std::vector<std::uint32_t> out;
  for (const TlvField& f : kTlvFields)
    if (f.writable) out.push_back(std::uint32_t{f.cls} << 16 | std::uint32_t{f.field} << 9 | f.len);
  return out;
}

}  // namespace sockswitch::control::openflow
