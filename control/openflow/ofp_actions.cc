// control/openflow/ofp_actions.cc: OpenFlow 1.0, 1.3 and Nicira actions.
#include "control/openflow/ofp_actions.h"

#include <fmt/format.h>

#include "control/openflow/ofp_action_types.h"
#include "control/openflow/ofp_conntrack.h"
#include "control/openflow/ofp_match.h"
#include "control/openflow/ofp_reg_actions.h"
#include "control/openflow/ofp_set_field.h"
#include "flowtable/field_syntax.h"
#include "flowtable/meter.h"

namespace sockswitch::control::openflow {
namespace {

using flowtable::Action;
using flowtable::ActionKind;
using flowtable::ActionList;
using flowtable::FieldId;
using flowtable::FlowRule;
using flowtable::PortNo;
using flowtable::Prereq;

Action output_to(std::uint32_t wire_port, std::uint16_t max_len, std::uint8_t version) {
  const auto p = port_from_wire(wire_port, version);
  if (!p) refuse(OfpCode::action_bad_out_port, fmt::format("output to port {:#x}", wire_port));
  Action a;
  switch (flowtable::to_u32(*p)) {
    case flowtable::to_u32(flowtable::kPortNormal):
      a.kind = ActionKind::normal;
      break;
    case flowtable::to_u32(flowtable::kPortFlood):
      a.kind = ActionKind::flood;
      break;
    case flowtable::to_u32(flowtable::kPortAll):
      a.kind = ActionKind::all;
      break;
    case flowtable::to_u32(flowtable::kPortInPort):
      a.kind = ActionKind::in_port;
      break;
    case flowtable::to_u32(flowtable::kPortLocal):
      a.kind = ActionKind::local;
      break;
    case flowtable::to_u32(flowtable::kPortController):
      a.kind = ActionKind::controller;
      a.max_len = max_len;
      break;
    case flowtable::to_u32(flowtable::kPortTable):
    case flowtable::to_u32(flowtable::kPortNone):
      refuse(OfpCode::action_bad_out_port,
             fmt::format("cannot output to reserved port {:#x} in a flow", wire_port));
    default:
      if (flowtable::to_u32(*p) == 0) refuse(OfpCode::action_bad_out_port, "output to port 0");
      a.kind = ActionKind::output;
      a.port = *p;
  }
  return a;
}

Action field_action(ActionKind kind, FieldId field, std::uint64_t value) {
  Action a;
  a.kind = kind;
  a.field = field;
  a.value.lo = value;
  return a;
}

// A Nicira action (after the 0xffff type, its length and the vendor id).
Action decode_nicira(WireReader& r, const FlowRule& rule) {
  const std::uint16_t subtype = r.u16();
  Action a;
  switch (subtype) {
    case kNxResubmit:
    case kNxResubmitTable: {
      const std::uint16_t in_port = r.u16();
      const std::uint8_t table = subtype == kNxResubmitTable ? r.u8() : 255;
      const auto p = port_from_wire(in_port, kVersion10);
      if (!p) refuse(OfpCode::action_bad_argument, fmt::format("resubmit to port {:#x}", in_port));
      a.kind = ActionKind::resubmit;
      a.port = *p;
      a.table = table;
      return a;
    }
    case kNxDecTtl:
      a.kind = ActionKind::dec_ttl;
      return a;
    case kNxController: {
      const std::uint16_t max_len = r.u16(), controller_id = r.u16();
      const std::uint8_t reason = r.u8();
      if (controller_id != 0 || reason != 1)
        refuse(OfpCode::action_bad_argument,
               "controller(): only max_len is supported (no controller id, reason action)");
      a.kind = ActionKind::controller;
      a.max_len = max_len;
      return a;
    }
    case kNxRegLoad:
      return decode_reg_load(r, rule.match);
    case kNxRegMove:
      return decode_reg_move(r, rule.match);
    case kNxRegLoad2:  // the TLV starts right after the subtype
      return decode_set_field(r, rule.match);
    case kNxCt:
      return decode_ct(r, rule.match);
    case kNxCtClear:
      a.kind = ActionKind::ct_clear;
      return a;
    default:
      refuse(OfpCode::action_bad_vendor_type,
             fmt::format("Nicira action subtype {} is not supported", subtype));
  }
}

// What a rewrite needs the match to say, as the flow text parser checks.
void check_against_rule(const Action& a, const FlowRule& rule) {
  auto require = [&](Prereq p, std::string_view what) {
    if (!flowtable::prereq_met(rule.match, p))
      refuse(OfpCode::action_match_inconsistent,
             fmt::format("{} needs {} in the match", what, flowtable::prereq_text(p)));
  };
  switch (a.kind) {
    case ActionKind::dec_ttl:
      require(Prereq::ip_any, "dec_ttl");
      break;
    case ActionKind::mod_nw_ttl:
      require(Prereq::ip_any, "mod_nw_ttl");
      break;
    case ActionKind::mod_nw_src:
    case ActionKind::mod_nw_dst:
      require(Prereq::ipv4, "mod_nw_src/mod_nw_dst");
      break;
    case ActionKind::mod_nw_tos:
      if (a.value.lo % 4) refuse(OfpCode::action_bad_argument, "nw_tos must be a multiple of 4");
      require(Prereq::ip_any, "mod_nw_tos");
      break;
    case ActionKind::mod_tp_src:
    case ActionKind::mod_tp_dst:
      require(Prereq::tcp_udp_sctp, "mod_tp_src/mod_tp_dst");
      break;
    case ActionKind::mod_vlan_vid:
      if (a.value.lo > 4095) refuse(OfpCode::action_bad_argument, "a VLAN VID is 0..4095");
      break;
    case ActionKind::mod_vlan_pcp:
      if (a.value.lo > 7) refuse(OfpCode::action_bad_argument, "a VLAN PCP is 0..7");
      break;
    case ActionKind::push_vlan:
      if (a.value.lo != flowtable::kEthTypeVlan && a.value.lo != flowtable::kEthTypeQinQ)
        refuse(OfpCode::action_bad_argument, "push_vlan: the TPID must be 0x8100 or 0x88a8");
      break;
    case ActionKind::resubmit:
      if (a.table != 255 && a.table >= flowtable::kTableCount)
        refuse(OfpCode::action_bad_argument, "resubmit to a table past 254");
      break;
    default:
      break;
  }
}

Action decode_one(WireReader& r, std::uint8_t version, const FlowRule& rule) {
  if (r.left() < 8) refuse(OfpCode::action_bad_len, "an action is cut short");
  const std::uint16_t type = r.u16(), len = r.u16();
  if (len < 8 || len % 8 != 0 || len - 4u > r.left())
    refuse(OfpCode::action_bad_len, fmt::format("action type {} has length {}", type, len));
  WireReader b = r.sub(len - 4u);
  Action a;
  auto mac = [&] { return b.be(6); };
  if (type == kVendorAction) {
    const std::uint32_t vendor = b.u32();
    if (vendor != kNiciraVendor)
      refuse(OfpCode::action_bad_vendor_type, fmt::format("action vendor {:#x}", vendor));
    a = decode_nicira(b, rule);
  } else if (version == kVersion10) {
    switch (type) {
      case kOutput10: {
        const std::uint16_t port = b.u16(), max_len = b.u16();
        a = output_to(port, max_len, version);
        break;
      }
      case kSetVlanVid10:
        a = field_action(ActionKind::mod_vlan_vid, FieldId::vlan_tci, b.u16());
        break;
      case kSetVlanPcp10:
        a = field_action(ActionKind::mod_vlan_pcp, FieldId::vlan_tci, b.u8());
        break;
      case kStripVlan10:
        a.kind = ActionKind::strip_vlan;
        break;
      case kSetDlSrc10:
        a = field_action(ActionKind::mod_dl_src, FieldId::eth_src, mac());
        break;
      case kSetDlDst10:
        a = field_action(ActionKind::mod_dl_dst, FieldId::eth_dst, mac());
        break;
      case kSetNwSrc10:
        a = field_action(ActionKind::mod_nw_src, FieldId::ipv4_src, b.u32());
        break;
      case kSetNwDst10:
        a = field_action(ActionKind::mod_nw_dst, FieldId::ipv4_dst, b.u32());
        break;
      case kSetNwTos10:
        a = field_action(ActionKind::mod_nw_tos, FieldId::ip_tos, b.u8());
        break;
      case kSetTpSrc10:
        a = field_action(ActionKind::mod_tp_src, FieldId::tp_src, b.u16());
        break;
      case kSetTpDst10:
        a = field_action(ActionKind::mod_tp_dst, FieldId::tp_dst, b.u16());
        break;
      case kEnqueue10:
        refuse(OfpCode::action_bad_type, "enqueue: queues are not supported");
      default:
        refuse(OfpCode::action_bad_type, fmt::format("OpenFlow 1.0 action type {}", type));
    }
  } else {
    switch (type) {
      case kOutput13: {
        const std::uint32_t port = b.u32();
        const std::uint16_t max_len = b.u16();
        a = output_to(port, max_len, version);
        break;
      }
      case kPushVlan13:
        a.kind = ActionKind::push_vlan;
        a.value.lo = b.u16();
        break;
      case kPopVlan13:
        a.kind = ActionKind::pop_vlan;
        break;
      case kDecNwTtl13:
        a.kind = ActionKind::dec_ttl;
        break;
      case kSetNwTtl13:
        a = field_action(ActionKind::mod_nw_ttl, FieldId::ip_ttl, b.u8());
        break;
      case kSetField13:
        a = decode_set_field(b, rule.match);
        break;
      default:
        refuse(OfpCode::action_bad_type,
               fmt::format("OpenFlow 1.3 action type {} is not supported", type));
    }
  }
  check_against_rule(a, rule);
  return a;
}

void put_output(WireWriter& w, std::uint8_t version, PortNo p, std::uint16_t max_len) {
  if (version == kVersion10) {
    w.u16(kOutput10);
    w.u16(8);
    w.u16(port_to_wire(p, version));
    w.u16(max_len);
    return;
  }
  w.u16(kOutput13);
  w.u16(16);
  w.u32(port_to_wire(p, version));
  w.u16(max_len);
  w.zeros(6);
}

// An action whose length is patched once its body is written.
template <typename Body>
void put_padded(WireWriter& w, std::uint16_t type, Body&& body) {
  const std::size_t at = w.size();
  w.u16(type);
  w.u16(0);
  body();
  w.pad_to(8);
  w.put_u16_at(at + 2, w.size() - at);
}

void put_nicira(WireWriter& w, std::uint16_t subtype, auto&& body) {
  put_padded(w, kVendorAction, [&] {
    w.u32(kNiciraVendor);
    w.u16(subtype);
    body();
  });
}

void encode_one(WireWriter& w, const Action& a, std::uint8_t version,
                const flowtable::Match& match) {
  const bool v10 = version == kVersion10;
  switch (a.kind) {
    case ActionKind::output:
      put_output(w, version, a.port, 0);
      return;
    case ActionKind::normal:
      put_output(w, version, flowtable::kPortNormal, 0);
      return;
    case ActionKind::flood:
      put_output(w, version, flowtable::kPortFlood, 0);
      return;
    case ActionKind::all:
      put_output(w, version, flowtable::kPortAll, 0);
      return;
    case ActionKind::in_port:
      put_output(w, version, flowtable::kPortInPort, 0);
      return;
    case ActionKind::local:
      put_output(w, version, flowtable::kPortLocal, 0);
      return;
    case ActionKind::controller:
      put_output(w, version, flowtable::kPortController, a.max_len);
      return;
    case ActionKind::strip_vlan:
    case ActionKind::pop_vlan:
      put_padded(w, v10 ? std::uint16_t{kStripVlan10} : std::uint16_t{kPopVlan13}, [] {});
      return;
    case ActionKind::push_vlan:
      // 1.0 has no push: a tag is pushed by the VID/PCP rewrite after it
      // (what OVS sends too).
      if (!v10) put_padded(w, kPushVlan13, [&] { w.u16(a.value.lo); });
      return;
    case ActionKind::dec_ttl:
      if (v10)
        put_nicira(w, kNxDecTtl, [&] { w.zeros(6); });
      else
        put_padded(w, kDecNwTtl13, [] {});
      return;
    case ActionKind::mod_nw_ttl:
      if (!v10) {  // 1.0 has no TTL action: a set_field of nw_ttl below, as OVS sends
        put_padded(w, kSetNwTtl13, [&] { w.u8(a.value.lo); });
        return;
      }
      break;
    case ActionKind::resubmit:
      put_nicira(w, kNxResubmitTable, [&] {
        w.u16(port_to_wire(a.port, kVersion10));
        w.u8(a.table);
        w.zeros(3);
      });
      return;
    case ActionKind::ct:
      put_nicira(w, kNxCt, [&] { encode_ct_body(w, a, v10); });
      return;
    case ActionKind::ct_clear:
      put_nicira(w, kNxCtClear, [&] { w.zeros(6); });
      return;
    case ActionKind::load:
      put_nicira(w, kNxRegLoad, [&] { encode_reg_body(w, a, match); });
      return;
    case ActionKind::move:
      put_nicira(w, kNxRegMove, [&] { encode_reg_body(w, a, match); });
      return;
    case ActionKind::goto_table:  // 1.0 only: 1.3 writes it as an instruction
      put_nicira(w, kNxResubmitTable, [&] {
        w.u16(flowtable::to_u32(flowtable::kPortInPort));
        w.u8(a.table);
        w.zeros(3);
      });
      return;
    default:
      break;
  }
  if (v10) {
    switch (a.kind) {
      case ActionKind::mod_vlan_vid:
        put_padded(w, kSetVlanVid10, [&] { w.u16(a.value.lo); });
        return;
      case ActionKind::mod_vlan_pcp:
        put_padded(w, kSetVlanPcp10, [&] { w.u8(a.value.lo); });
        return;
      case ActionKind::mod_dl_src:
      case ActionKind::mod_dl_dst:
        put_padded(w, a.kind == ActionKind::mod_dl_src ? kSetDlSrc10 : kSetDlDst10,
                   [&] { w.be(a.value.lo, 6); });
        return;
      case ActionKind::mod_nw_src:
      case ActionKind::mod_nw_dst:
        put_padded(w, a.kind == ActionKind::mod_nw_src ? kSetNwSrc10 : kSetNwDst10,
                   [&] { w.u32(a.value.lo); });
        return;
      case ActionKind::mod_nw_tos:
        put_padded(w, kSetNwTos10, [&] { w.u8(a.value.lo); });
        return;
      case ActionKind::mod_tp_src:
      case ActionKind::mod_tp_dst:
        put_padded(w, a.kind == ActionKind::mod_tp_src ? kSetTpSrc10 : kSetTpDst10,
                   [&] { w.u16(a.value.lo); });
        return;
      default:  // set_field
        put_nicira(w, kNxRegLoad2, [&] { encode_set_field(w, a, match, false); });
        return;
    }
  }
  put_padded(w, kSetField13, [&] { encode_set_field(w, a, match, true); });
}

}  // namespace

ActionList decode_actions(WireReader& r, std::uint8_t version, const FlowRule& rule) {
  ActionList out;
  while (r.left() > 0) {
    if (!out.empty() && out.back().kind == ActionKind::goto_table)
      refuse(OfpCode::action_bad_argument, "goto_table must be the last action");
    out.push_back(decode_one(r, version, rule));
  }
  return out;
}

ActionList decode_instructions(WireReader& r, const FlowRule& rule) {
  ActionList out;
  bool applied = false, went = false;
  while (r.left() > 0) {
    if (r.left() < 8) refuse(OfpCode::action_bad_len, "an instruction is cut short");
    const std::uint16_t type = r.u16(), len = r.u16();
    if (len < 8 || len % 8 != 0 || len - 4u > r.left())
      refuse(OfpCode::action_bad_len, fmt::format("instruction {} has length {}", type, len));
    WireReader b = r.sub(len - 4u);
    switch (type) {
      case kApplyActions: {
        if (applied) refuse(OfpCode::instruction_unknown, "APPLY_ACTIONS given twice");
        applied = true;
        b.skip(4);
        ActionList list = decode_actions(b, kVersion13, rule);
        // After a meter, before a goto_table, whichever came first on the wire.
        const bool metered = !out.empty() && out.front().kind == ActionKind::meter;
        out.insert(out.begin() + (metered ? 1 : 0), list.begin(), list.end());
        break;
      }
      case kGotoTable: {
        if (went) refuse(OfpCode::instruction_unknown, "GOTO_TABLE given twice");
        went = true;
        const std::uint8_t table = b.u8();
        if (table >= flowtable::kTableCount ||
            (rule.table != flowtable::kTableCount && table <= rule.table))
          refuse(OfpCode::instruction_bad_table_id,
                 fmt::format("goto_table:{} must go to a later table than {}", table, rule.table));
        Action a;
        a.kind = ActionKind::goto_table;
        a.table = table;
        out.push_back(a);
        break;
      }
      case kClearActions:
        break;  // there is never an action set to clear
      case kWriteActions:
        refuse(OfpCode::instruction_unknown, "WRITE_ACTIONS: action sets are not supported");
      case kWriteMetadata:
        refuse(OfpCode::instruction_unknown, "WRITE_METADATA is not supported (use set_field)");
      case kMeter: {
        // Applied before the actions, wherever the instruction stands.
        if (!out.empty() && out.front().kind == ActionKind::meter)
          refuse(OfpCode::instruction_unknown, "METER given twice");
        Action a;
        a.kind = ActionKind::meter;
        a.value.lo = b.u32();
        if (a.value.lo == 0 || a.value.lo > flowtable::kMeterIdMax)
          refuse(OfpCode::instruction_unknown,
                 fmt::format("meter id {} is not one a meter can have", a.value.lo));
        out.insert(out.begin(), a);
        break;
      }
      default:
        refuse(OfpCode::instruction_unknown, fmt::format("instruction type {}", type));
    }
  }
  return out;
}

void encode_actions(WireWriter& w, const ActionList& actions, std::uint8_t version,
                    const flowtable::Match& match) {
  // OpenFlow 1.0 has no meters: OVS leaves them out of a 1.0 flow too.
  const bool metered = !actions.empty() && actions.front().kind == ActionKind::meter;
  const std::size_t first = metered ? 1 : 0;
  if (version == kVersion10) {
    for (std::size_t i = first; i < actions.size(); ++i)
      encode_one(w, actions[i], version, match);
    return;
  }
  if (metered) {
    w.u16(kMeter);
    w.u16(8);
    w.u32(static_cast<std::uint32_t>(actions.front().value.lo));
  }
  const bool go = actions.size() > first && actions.back().kind == ActionKind::goto_table;
  const std::size_t n = actions.size() - (go ? 1 : 0);
  if (n > first) {
    const std::size_t at = w.size();
    w.u16(kApplyActions);
    w.u16(0);
    w.zeros(4);
    for (std::size_t i = first; i < n; ++i)
      encode_one(w, actions[i], version, match);
    w.put_u16_at(at + 2, w.size() - at);
  }
  if (go) {
    w.u16(kGotoTable);
    w.u16(8);
    w.u8(actions.back().table);
    w.zeros(3);
  }
}

}  // namespace sockswitch::control::openflow
