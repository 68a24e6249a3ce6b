// control/openflow/ofp_set_field.cc: one field written by an action, as a
// TLV: OpenFlow 1.3 SET_FIELD and Nicira REG_LOAD/REG_LOAD2.
#include "control/openflow/ofp_set_field.h"

#include <fmt/format.h>

#include <stdexcept>

#include "control/openflow/ofp_tlv_fields.h"

namespace sockswitch::control::openflow {

using flowtable::Action;
using flowtable::ActionKind;
using flowtable::FieldId;
using flowtable::Match;

Action decode_set_field(WireReader& r, const Match& match) {
  const TlvHeader h = read_header(r);
  WireReader body = r.sub(h.len);
  const TlvField* f = find_tlv(h.cls, h.field);
  if (f == nullptr || !f->writable)
    throw OfpError(OfpCode::action_bad_set_type,
                   f ? fmt::format("set_field cannot write {}", f->name)
                     : fmt::format("set_field: field class {:#06x} field {} is not supported",
                                   h.cls, h.field));
  if (h.has_mask || h.len != f->len)
    throw OfpError(OfpCode::action_bad_argument,
                   fmt::format("set_field to {}: bad length or a mask", f->name));
  if (!needs_met(*f, match))
    throw OfpError(OfpCode::action_match_inconsistent,
                   fmt::format("set_field to {} needs {} in the match", f->name,
                               flowtable::prereq_text(f->prereq)));
  Action a;
  a.field = f->storage;
  if (f->len == 16) {
    a.kind = ActionKind::set_field;
    a.value = {body.u64(), body.u64()};
    return a;
  }
  const std::uint64_t v = body.be(f->len);
  auto bad = [&](std::string_view why) {
    throw OfpError(OfpCode::action_bad_argument, fmt::format("set_field to {}: {}", f->name, why));
  };
  switch (f->conv) {
    case Conv::vid13:
      if (!(v & kVlanCfi) || v > 0x1fff) bad("the VID must carry OFPVID_PRESENT (0x1000)");
      a.kind = ActionKind::mod_vlan_vid;
      a.value.lo = v & 0x0fff;
      return a;
    case Conv::pcp3:
      if (v > 7) bad("a PCP is 0..7");
      a.kind = ActionKind::mod_vlan_pcp;
      a.value.lo = v;
      return a;
    case Conv::dscp6:
    case Conv::tos_dscp:
      if ((f->conv == Conv::dscp6 && v > 63) || (f->conv == Conv::tos_dscp && (v & 3)))
        bad("not a DSCP value");
      a.kind = ActionKind::mod_nw_tos;
      a.value.lo = f->conv == Conv::dscp6 ? v << 2 : v;
      return a;
    case Conv::ecn:
      if (v > 3) bad("an ECN is 0..3");
      a.kind = ActionKind::set_field;
      a.value.lo = v;
      return a;
    default: {
      const Stored s = [&] {
        try {
          return to_storage(*f, v, std::nullopt);
        } catch (const OfpError& e) {
          throw OfpError(OfpCode::action_bad_argument, e.what());
        }
      }();
      a.kind = ActionKind::set_field;
      a.value.lo = s.value;
      return a;
    }
  }
}

void encode_set_field(WireWriter& w, const Action& a, const Match& match, bool oxm) {
  const bool arp = flowtable::match_is_arp(match);
  const std::uint64_t proto = match.has(FieldId::ip_proto) ? match.value.get(FieldId::ip_proto) : 0;
  auto l4 = [&](bool src) {
    const std::string_view p = proto == flowtable::kIpProtoUdp    ? "udp"
                               : proto == flowtable::kIpProtoSctp ? "sctp"
                                                                  : "tcp";
    return fmt::format("{}_{}", p, src ? "src" : "dst");
  };
  std::string name;
  std::uint64_t v = a.value.lo;
  switch (a.kind) {
    case ActionKind::mod_vlan_vid:
      name = "vlan_vid";
      v = kVlanCfi | v;
      break;
    case ActionKind::mod_vlan_pcp:
      name = "vlan_pcp";
      break;
    case ActionKind::mod_nw_tos:
      name = oxm ? "ip_dscp" : "nw_tos";
      if (oxm) v >>= 2;
      break;
    case ActionKind::mod_dl_src:
    case ActionKind::mod_dl_dst:
    case ActionKind::mod_nw_src:
    case ActionKind::mod_nw_dst:
    case ActionKind::mod_tp_src:
    case ActionKind::mod_tp_dst:
    case ActionKind::mod_nw_ttl:
    case ActionKind::set_field:
      switch (a.field) {
        case FieldId::eth_src:
          name = "eth_src";
          break;
        case FieldId::eth_dst:
          name = "eth_dst";
          break;
        case FieldId::ipv4_src:
          name = arp ? "arp_spa" : "ipv4_src";
          break;
        case FieldId::ipv4_dst:
          name = arp ? "arp_tpa" : "ipv4_dst";
          break;
        case FieldId::tp_src:
          name = l4(true);
          break;
        case FieldId::tp_dst:
          name = l4(false);
          break;
        case FieldId::ip_tos:
          name = "ip_ecn";
          break;
        case FieldId::ip_ttl:
          name = "nw_ttl";
          break;
        case FieldId::ip_proto:
          name = "arp_op";
          break;
        case FieldId::arp_sha:
          name = "arp_sha";
          break;
        case FieldId::arp_tha:
          name = "arp_tha";
          break;
        case FieldId::ipv6_src:
          name = "ipv6_src";
          break;
        case FieldId::ipv6_dst:
          name = "ipv6_dst";
          break;
        case FieldId::ipv6_label:
          name = "ipv6_label";
          break;
        default:
          name = std::string(flowtable::layout_of(a.field).name);
          break;  // metadata, regs
      }
      break;
    default:
      throw std::invalid_argument("not a field-writing action");
  }
  // vlan_vid/vlan_pcp/ip_dscp have only OXM headers: NXM readers take them too.
  const TlvField& f = tlv_named(name, oxm || name == "vlan_vid" || name == "vlan_pcp");
  write_header(w, f, false);
  if (f.len == 16) {
    w.u64(a.value.hi);
    w.u64(a.value.lo);
  } else {
    w.be(v, f.len);
  }
}

}  // namespace sockswitch::control::openflow
