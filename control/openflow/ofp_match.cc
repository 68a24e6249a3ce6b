// control/openflow/ofp_match.cc: the three match encodings.
#include "control/openflow/ofp_match.h"

#include <fmt/format.h>

#include <array>
#include <bit>
#include <stdexcept>
#include <vector>

#include "control/openflow/ofp_tlv_fields.h"
#include "flowtable/field_syntax.h"

namespace sockswitch::control::openflow {
namespace {

using flowtable::FieldId;
using flowtable::Match;
using flowtable::PortNo;
using flowtable::Prereq;
using flowtable::Wide;

// The bits a TLV claims, for duplicate detection: a VLAN PCP shares the
// "tag present" bit with a VID, so it does not claim it.
flowtable::FlowMask claimed(const TlvField& f, const Match& single) {
  flowtable::FlowMask m = single.mask;
  if (f.conv == Conv::pcp3) m.set(FieldId::vlan_tci, 0xe000);
  return m;
}

Match read_field(const TlvField& f, const TlvHeader& h, WireReader& body) {
  Match one;
  if (f.len == 16) {
    Wide v{body.u64(), body.u64()};
    Wide m{~std::uint64_t{0}, ~std::uint64_t{0}};
    if (h.has_mask) m = {body.u64(), body.u64()};
    if ((v.hi & ~m.hi) || (v.lo & ~m.lo))
      throw OfpError(OfpCode::match_bad_value,
                     fmt::format("{}: value has bits outside its mask", f.name));
    one.set_wide_masked(f.storage, v, m);
    return one;
  }
  const std::uint64_t v = body.be(f.len);
  std::optional<std::uint64_t> m;
  if (h.has_mask) m = body.be(f.len);
  if (m && (v & ~*m))
    throw OfpError(OfpCode::match_bad_value,
                   fmt::format("{}: value has bits outside its mask", f.name));
  const Stored s = to_storage(f, v, m);
  one.set_masked(f.storage, s.value, s.mask);
  return one;
}

}  // namespace

std::optional<PortNo> port_from_wire(std::uint32_t p, std::uint8_t version) noexcept {
  if (version == kVersion10) {
    if (p > 0xffff) return std::nullopt;
    if (p > flowtable::to_u32(flowtable::kPortMax) && p < 0xfff8) return std::nullopt;
    return PortNo{p};
  }
  if (p >= 0xfffffff8) return PortNo{p & 0xffff};
  if (p > flowtable::to_u32(flowtable::kPortMax)) return std::nullopt;
  return PortNo{p};
}

std::uint32_t port_to_wire(PortNo p, std::uint8_t version) noexcept {
  const std::uint32_t n = flowtable::to_u32(p);
  if (version != kVersion10 && n >= 0xfff8) return 0xffff0000 | n;
  return n;
}

Match decode_tlv_match(std::span<const std::uint8_t> tlvs) {
  WireReader r(tlvs);
  Match out;
  flowtable::FlowMask taken;
  std::vector<const TlvField*> seen;
  bool pcp_given = false;
  while (r.left() > 0) {
    if (r.left() < 4) throw OfpError(OfpCode::match_bad_len, "a match field is cut short");
    const TlvHeader h = read_header(r);
    WireReader body = [&] {
      try {
        return r.sub(h.len);
      } catch (const OfpError&) {
        throw OfpError(OfpCode::match_bad_len, "a match field runs past the match");
      }
    }();
    const TlvField* f = find_tlv(h.cls, h.field);
    if (f == nullptr)
      throw OfpError(
          OfpCode::match_bad_field,
          fmt::format("match field class {:#06x} field {} is not supported", h.cls, h.field));
    if (h.has_mask && !f->maskable)
      throw OfpError(OfpCode::match_bad_mask, fmt::format("{} takes no mask", f->name));
    if (h.len != f->len * (h.has_mask ? 2 : 1))
      throw OfpError(OfpCode::match_bad_len, fmt::format("{} has length {}", f->name, h.len));
    const Match one = read_field(*f, h, body);
    const flowtable::FlowMask mine = claimed(*f, one);
    for (std::size_t i = 0; i < flowtable::kKeyWords; ++i)
      if (mine.w[i] & taken.w[i])
        throw OfpError(OfpCode::match_dup_field, fmt::format("{} is given twice", f->name));
    taken |= mine;
    for (std::size_t i = 0; i < flowtable::kKeyWords; ++i) {
      out.value.w[i] |= one.value.w[i];
      out.mask.w[i] |= one.mask.w[i];
    }
    pcp_given |= f->conv == Conv::pcp3;
    seen.push_back(f);
  }
  for (const TlvField* f : seen)
    if (!needs_met(*f, out))
      throw OfpError(OfpCode::match_bad_prereq,
                     fmt::format("{} needs {} in the match", f->name,
                                 f->icmp4 ? "icmp" : flowtable::prereq_text(f->prereq)));
  if (pcp_given &&
      !(out.value.get(FieldId::vlan_tci) & kVlanCfi && out.mask.get(FieldId::vlan_tci) & kVlanCfi))
    throw OfpError(OfpCode::match_bad_prereq, "vlan_pcp needs a VLAN tag (vlan_vid present)");
  return out;
}

std::size_t encode_tlv_match(WireWriter& w, const Match& m, bool oxm) {
  const std::size_t start = w.size();
  auto put = [&](std::string_view name, std::uint64_t v, std::uint64_t mask_v, bool masked) {
    const TlvField& f = tlv_named(name, oxm);
    write_header(w, f, masked && f.maskable);
    w.be(v, f.len);
    if (masked && f.maskable) w.be(mask_v, f.len);
  };
  auto put_plain = [&](std::string_view name, FieldId id) {
    const TlvField& f = tlv_named(name, oxm);
    if (f.len == 16) {
      const Wide v = m.value.get_wide(id), k = m.mask.get_wide(id);
      const bool masked = ~k.hi || ~k.lo;
      write_header(w, f, masked);
      w.u64(v.hi);
      w.u64(v.lo);
      if (masked) {
        w.u64(k.hi);
        w.u64(k.lo);
      }
      return;
    }
    const unsigned bits = flowtable::layout_of(id).bits;
    const std::uint64_t full = bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1;
    const std::uint64_t k = m.mask.get(id);
    put(name, m.value.get(id) & all_ones(f.len), k & all_ones(f.len), (k & full) != full);
  };
  const bool arp = flowtable::match_is_arp(m);
  const std::uint64_t proto = m.has(FieldId::ip_proto) ? m.value.get(FieldId::ip_proto) : 0;
  const bool ipv6 = m.is_exact(FieldId::eth_type, flowtable::kEthTypeIpv6);
  for (const flowtable::FieldLayout& l : flowtable::kFieldLayouts) {
    const FieldId id = l.id;
    if (!m.has(id)) continue;
    switch (id) {
      case FieldId::in_port:
        put("in_port",
            port_to_wire(PortNo{static_cast<std::uint32_t>(m.value.get(id))},
                         oxm ? kVersion13 : kVersion10),
            0, false);
        break;
      case FieldId::eth_type:
        put("eth_type", m.value.get(id), 0, false);
        break;
      case FieldId::vlan_tci: {
        const TlvField& f = *find_tlv(kNxmOf, 4);
        const std::uint64_t k = m.mask.get(id);
        write_header(w, f, k != 0xffff);
        w.u16(m.value.get(id));
        if (k != 0xffff) w.u16(k);
        break;
      }
      case FieldId::eth_src:
        put_plain("eth_src", id);
        break;
      case FieldId::eth_dst:
        put_plain("eth_dst", id);
        break;
      case FieldId::ip_proto:
        put(arp ? "arp_op" : "ip_proto", m.value.get(id), 0, false);
        break;
      case FieldId::ip_tos: {
        const std::uint64_t v = m.value.get(id), k = m.mask.get(id);
        if ((k & 0xfc) == 0xfc) {
          if (oxm)
            put("ip_dscp", v >> 2 & 0x3f, 0, false);
          else
            put("nw_tos", v & 0xfc, 0, false);
        }
        if ((k & 0x03) == 0x03) put("ip_ecn", v & 0x03, 0, false);
        break;
      }
      case FieldId::ip_ttl:
        put("nw_ttl", m.value.get(id), 0, false);
        break;
      case FieldId::ip_frag:
        put_plain("ip_frag", id);
        break;
      case FieldId::ipv4_src:
        put_plain(arp ? "arp_spa" : "ipv4_src", id);
        break;
      case FieldId::ipv4_dst:
        put_plain(arp ? "arp_tpa" : "ipv4_dst", id);
        break;
      case FieldId::tp_src:
      case FieldId::tp_dst: {
        const bool src = id == FieldId::tp_src;
        if (proto == flowtable::kIpProtoIcmp || proto == flowtable::kIpProtoIcmpv6) {
          const bool v6 = ipv6 && proto == flowtable::kIpProtoIcmpv6;
          put(v6 ? (src ? "icmpv6_type" : "icmpv6_code") : (src ? "icmp_type" : "icmp_code"),
              m.value.get(id) & 0xff, 0, false);
        } else {
          const std::string_view l4 = proto == flowtable::kIpProtoUdp    ? "udp"
                                      : proto == flowtable::kIpProtoSctp ? "sctp"
                                                                         : "tcp";
          put_plain(fmt::format("{}_{}", l4, src ? "src" : "dst"), id);
        }
        break;
      }
      case FieldId::tcp_flags:
        put_plain("tcp_flags", id);
        break;
      case FieldId::ipv6_label:
        put_plain("ipv6_label", id);
        break;
      case FieldId::metadata:
        put_plain("metadata", id);
        break;
      case FieldId::ipv6_src:
        put_plain("ipv6_src", id);
        break;
      case FieldId::ipv6_dst:
        put_plain("ipv6_dst", id);
        break;
      case FieldId::nd_target:
        put_plain("nd_target", id);
        break;
      case FieldId::arp_sha:
        put_plain(arp ? "arp_sha" : "nd_sll", id);
        break;
      case FieldId::arp_tha:
        put_plain(arp ? "arp_tha" : "nd_tll", id);
        break;
      default:  // reg0..reg7
        put_plain(l.name, id);
        break;
    }
  }
  return w.size() - start;
}

Match decode_ofp10_match(WireReader& r) {
  constexpr std::uint32_t kInPort = 1 << 0, kDlVlan = 1 << 1, kDlSrc = 1 << 2, kDlDst = 1 << 3,
                          kDlType = 1 << 4, kNwProto = 1 << 5, kTpSrc = 1 << 6, kTpDst = 1 << 7,
                          kDlVlanPcp = 1 << 20, kNwTos = 1 << 21;
  const std::uint32_t wc = r.u32();
  const std::uint16_t in_port = r.u16();
  const std::uint64_t dl_src = r.be(6), dl_dst = r.be(6);
  const std::uint16_t dl_vlan = r.u16();
  const std::uint8_t dl_vlan_pcp = r.u8();
  r.skip(1);
  const std::uint16_t dl_type = r.u16();
  const std::uint8_t nw_tos = r.u8(), nw_proto = r.u8();
  r.skip(2);
  const std::uint32_t nw_src = r.u32(), nw_dst = r.u32();
  const std::uint16_t tp_src = r.u16(), tp_dst = r.u16();

  Match m;
  const std::uint64_t all = ~std::uint64_t{0};
  if (!(wc & kInPort)) {
    const TlvField& f = *find_tlv(kNxmOf, 0);
    const Stored s = to_storage(f, in_port, std::nullopt);
    m.set_masked(FieldId::in_port, s.value, s.mask);
  }
  if (!(wc & kDlSrc)) m.set_masked(FieldId::eth_src, dl_src, all);
  if (!(wc & kDlDst)) m.set_masked(FieldId::eth_dst, dl_dst, all);
  if (!(wc & kDlVlan)) {
    if (dl_vlan == 0xffff) {
      m.set_masked(FieldId::vlan_tci, 0, 0xffff);  // no tag
    } else {
      m.set_masked(FieldId::vlan_tci, kVlanCfi | (dl_vlan & 0x0fff), 0x1fff);
      if (!(wc & kDlVlanPcp))
        m.set_masked(FieldId::vlan_tci, std::uint64_t{dl_vlan_pcp} << 13, 0xe000);
    }
  } else if (!(wc & kDlVlanPcp)) {
    m.set_masked(FieldId::vlan_tci, kVlanCfi | (std::uint64_t{dl_vlan_pcp} & 7) << 13, 0xf000);
  }
  if (wc & kDlType) return m;  // nothing above layer 2 applies
  m.set_masked(FieldId::eth_type, dl_type, all);
  const bool ip = dl_type == flowtable::kEthTypeIpv4;
  const bool arp = dl_type == flowtable::kEthTypeArp || dl_type == flowtable::kEthTypeRarp;
  if (!ip && !arp) return m;
  const unsigned src_bits = std::min(32u, wc >> 8 & 0x3f),
                 dst_bits = std::min(32u, wc >> 14 & 0x3f);
  auto prefix = [](unsigned wild) -> std::uint64_t {
    return wild >= 32 ? 0 : (0xffffffffull << wild) & 0xffffffffull;
  };
  if (prefix(src_bits)) m.set_masked(FieldId::ipv4_src, nw_src, prefix(src_bits));
  if (prefix(dst_bits)) m.set_masked(FieldId::ipv4_dst, nw_dst, prefix(dst_bits));
  if (!(wc & kNwProto)) m.set_masked(FieldId::ip_proto, nw_proto, all);  // under arp: the opcode
  if (arp) return m;
  if (!(wc & kNwTos)) m.set_masked(FieldId::ip_tos, nw_tos & 0xfc, 0xfc);
  if (wc & kNwProto) return m;
  const bool ports = nw_proto == flowtable::kIpProtoTcp || nw_proto == flowtable::kIpProtoUdp ||
                     nw_proto == flowtable::kIpProtoSctp;
  const bool icmp = nw_proto == flowtable::kIpProtoIcmp;
  if (!ports && !icmp) return m;
  if (!(wc & kTpSrc)) m.set_masked(FieldId::tp_src, icmp ? tp_src & 0xff : tp_src, all);
  if (!(wc & kTpDst)) m.set_masked(FieldId::tp_dst, icmp ? tp_dst & 0xff : tp_dst, all);
  return m;
}

bool encode_ofp10_match(WireWriter& w, const Match& m) {
  std::uint32_t wc = 0x3fffff;        // OFPFW_ALL
  flowtable::FlowMask left = m.mask;  // what is not said yet
  auto take = [&](FieldId f) { left.set(f, 0); };
  auto full = [&](FieldId f) {
    const unsigned bits = flowtable::layout_of(f).bits;
    return m.mask.get(f) == (bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << bits) - 1);
  };
  auto exact = [&](FieldId f, std::uint32_t bit) {
    if (!m.has(f)) return true;
    if (!full(f)) return false;
    wc &= ~bit;
    take(f);
    return true;
  };
  std::uint16_t dl_vlan = 0;
  std::uint8_t dl_vlan_pcp = 0;
  if (m.has(FieldId::vlan_tci)) {
    const std::uint64_t v = m.value.get(FieldId::vlan_tci), k = m.mask.get(FieldId::vlan_tci);
    if (k == 0xffff && v == 0) {
      dl_vlan = 0xffff;  // no tag
      wc &= ~(1u << 1);
    } else if ((k & 0x1fff) == 0x1fff && (k >> 13 == 7 || k >> 13 == 0) && (v & kVlanCfi)) {
      dl_vlan = v & 0x0fff;
      wc &= ~(1u << 1);
      if (k >> 13 == 7) {
        dl_vlan_pcp = static_cast<std::uint8_t>(v >> 13);
        wc &= ~(1u << 20);
      }
    } else if (k == 0xf000 && (v & kVlanCfi)) {
      dl_vlan_pcp = static_cast<std::uint8_t>(v >> 13);
      wc &= ~(1u << 20);
    } else {
      return false;
    }
    take(FieldId::vlan_tci);
  }
  std::uint8_t nw_tos = 0;
  if (m.has(FieldId::ip_tos)) {
    if (m.mask.get(FieldId::ip_tos) != 0xfc) return false;
    nw_tos = static_cast<std::uint8_t>(m.value.get(FieldId::ip_tos));
    wc &= ~(1u << 21);
    take(FieldId::ip_tos);
  }
  auto prefix = [&](FieldId f, unsigned shift) {
    if (!m.has(f)) return true;
    const std::uint32_t k = static_cast<std::uint32_t>(m.mask.get(f));
    const unsigned ones = static_cast<unsigned>(std::popcount(k));
    if (k != (ones == 0 ? 0u : ~0u << (32 - ones))) return false;  // not a prefix
    wc = (wc & ~(0x3fu << shift)) | (32 - ones) << shift;
    take(f);
    return true;
  };
  if (!exact(FieldId::in_port, 1u << 0) || !exact(FieldId::eth_src, 1u << 2) ||
      !exact(FieldId::eth_dst, 1u << 3) || !exact(FieldId::eth_type, 1u << 4) ||
      !exact(FieldId::ip_proto, 1u << 5) || !exact(FieldId::tp_src, 1u << 6) ||
      !exact(FieldId::tp_dst, 1u << 7) || !prefix(FieldId::ipv4_src, 8) ||
      !prefix(FieldId::ipv4_dst, 14) || !left.empty())
    return false;
  w.u32(wc);
  w.u16(
      port_to_wire(PortNo{static_cast<std::uint32_t>(m.value.get(FieldId::in_port))}, kVersion10));
  w.be(m.value.get(FieldId::eth_src), 6);
  w.be(m.value.get(FieldId::eth_dst), 6);
  w.u16(dl_vlan);
  w.u8(dl_vlan_pcp);
  w.u8(0);
  w.u16(m.value.get(FieldId::eth_type));
  w.u8(nw_tos);
  w.u8(m.value.get(FieldId::ip_proto));
  w.u16(0);
  w.u32(m.value.get(FieldId::ipv4_src));
  w.u32(m.value.get(FieldId::ipv4_dst));
  w.u16(m.value.get(FieldId::tp_src));
  w.u16(m.value.get(FieldId::tp_dst));
  return true;
}

Match decode_oxm_match(WireReader& r) {
  const std::uint16_t type = r.u16(), len = r.u16();
  if (type != 1)
    throw OfpError(OfpCode::match_bad_type, fmt::format("match type {} (only OXM)", type));
  if (len < 4) throw OfpError(OfpCode::match_bad_len, "match length below 4");
  Match m = decode_tlv_match(r.take(len - 4u));
  r.skip((8 - len % 8) % 8);
  return m;
}

void encode_oxm_match(WireWriter& w, const Match& m) {
  const std::size_t at = w.size();
  w.u16(1);  // OXM
  w.u16(0);
  const std::size_t n = encode_tlv_match(w, m, true);
  w.put_u16_at(at + 2, n + 4);
  w.zeros((8 - (n + 4) % 8) % 8);
}

}  // namespace sockswitch::control::openflow
