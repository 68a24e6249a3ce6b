// control/openflow/ofp_conntrack.cc: NXAST_CT's fixed part and its exec() actions.
#include "control/openflow/ofp_conntrack.h"

#include <fmt/format.h>

#include "control/openflow/ofp_action_types.h"
#include "control/openflow/ofp_tlv_fields.h"

namespace sockswitch::control::openflow {
namespace {

using flowtable::Action;
using flowtable::ActionKind;

constexpr std::uint16_t kCtFlagCommit = 1, kCtFlagForce = 2;
constexpr std::uint8_t kCtMarkField = 107, kCtLabelField = 108;

// A TLV naming ct_mark, then its value (and mask).
void read_mark(WireReader& r, const TlvHeader& h, Action& a) {
  if (h.cls == kNxmNx && h.field == kCtLabelField)
    refuse(OfpCode::action_bad_argument, "ct: exec(): setting ct_label is not supported yet");
  if (h.cls != kNxmNx || h.field != kCtMarkField)
    refuse(OfpCode::action_bad_argument, "ct: exec() can set ct_mark only");
  if (h.len != (h.has_mask ? 8 : 4))
    refuse(OfpCode::action_bad_len, fmt::format("ct_mark has length {}", h.len));
  const std::uint32_t v = r.u32();
  const std::uint32_t m = h.has_mask ? r.u32() : 0xffffffff;
  if (a.ct_flags & flowtable::kCtSetMark)
    refuse(OfpCode::action_bad_argument, "ct: exec() sets ct_mark twice");
  a.value.lo = v & m;
  a.value.hi = m;
  a.ct_flags |= flowtable::kCtSetMark;
}

void decode_exec(WireReader& r, Action& a) {
  while (r.left() > 0) {
    if (r.left() < 8) refuse(OfpCode::action_bad_len, "an exec() action is cut short");
    const std::uint16_t type = r.u16(), len = r.u16();
    if (len < 8 || len % 8 != 0 || len - 4u > r.left())
      refuse(OfpCode::action_bad_len,
             fmt::format("exec() action type {} has length {}", type, len));
    WireReader b = r.sub(len - 4u);
    if (type == kSetField13) {
      read_mark(b, read_header(b), a);
      continue;
    }
    if (type != kVendorAction || b.u32() != kNiciraVendor)
      refuse(OfpCode::action_bad_argument, "ct: exec() can set ct_mark only");
    const std::uint16_t subtype = b.u16();
    if (subtype == kNxRegLoad2) {
      read_mark(b, read_header(b), a);
    } else if (subtype == kNxRegLoad) {
      const std::uint16_t ofs_nbits = b.u16();
      const TlvHeader h = read_header(b);
      const std::uint64_t value = b.u64();
      const unsigned ofs = ofs_nbits >> 6, nbits = (ofs_nbits & 0x3f) + 1u;
      if (ofs + nbits > 32) refuse(OfpCode::action_bad_argument, "load: past ct_mark's 32 bits");
      const std::uint64_t mask = ((nbits == 32 ? 0xffffffffULL : (1ULL << nbits) - 1)) << ofs;
      WireWriter tlv;
      tlv.u32(value << ofs & mask);
      tlv.u32(mask);
      WireReader tr(tlv.bytes());
      read_mark(tr, {h.cls, h.field, true, 8}, a);
    } else {
      refuse(OfpCode::action_bad_argument, "ct: exec() can set ct_mark only");
    }
  }
}

}  // namespace

Action decode_ct(WireReader& r, const flowtable::Match& match) {
  Action a;
  a.kind = ActionKind::ct;
  const std::uint16_t flags = r.u16();
  const std::uint32_t zone_src = r.u32();
  a.zone = r.u16();
  a.table = r.u8();
  r.skip(3);
  const std::uint16_t alg = r.u16();
  if (flags & kCtFlagForce) refuse(OfpCode::action_bad_argument, "ct: force is not supported yet");
  if (flags & ~(kCtFlagCommit | kCtFlagForce))
    refuse(OfpCode::action_bad_argument, fmt::format("ct: unknown flags {:#x}", flags));
  if (zone_src != 0)
    refuse(OfpCode::action_bad_argument, "ct: a zone from a field is not supported yet");
  if (alg != 0) refuse(OfpCode::action_bad_argument, "ct: alg is not supported yet");
  if (flags & kCtFlagCommit) a.ct_flags |= flowtable::kCtCommit;
  decode_exec(r, a);
  if (a.ct_flags & flowtable::kCtSetMark && !(a.ct_flags & flowtable::kCtCommit))
    refuse(OfpCode::action_bad_argument,
           "ct: exec() sets fields of the connection and needs commit");
  if (!flowtable::prereq_met(match, flowtable::Prereq::ip_any))
    refuse(OfpCode::action_match_inconsistent, "ct needs ip or ipv6 in the match");
  if (a.ct_flags & flowtable::kCtCommit &&
      match.value.get(flowtable::FieldId::ct_state) & flowtable::kCtStateInvalid)
    refuse(OfpCode::action_match_inconsistent,
           "ct(commit) cannot apply to a flow that matches ct_state=+inv");
  return a;
}

void encode_ct_body(WireWriter& w, const Action& a, bool v10) {
  w.u16(a.ct_flags & flowtable::kCtCommit ? kCtFlagCommit : 0);
  w.u32(0);
  w.u16(a.zone);
  w.u8(a.table);
  w.zeros(3);
  w.u16(0);
  if (!(a.ct_flags & flowtable::kCtSetMark)) return;
  const TlvField& mark = tlv_named("ct_mark", false);
  const bool masked = a.value.hi != 0xffffffff;
  if (!v10 && !masked) {
    w.u16(kSetField13);
    w.u16(16);
    write_header(w, mark, false);
    w.u32(static_cast<std::uint32_t>(a.value.lo));
    w.zeros(4);
    return;
  }
  w.u16(kVendorAction);
  w.u16(24);
  w.u32(kNiciraVendor);
  w.u16(kNxRegLoad2);
  write_header(w, mark, masked);
  w.u32(static_cast<std::uint32_t>(a.value.lo));
  if (masked) {
    w.u32(static_cast<std::uint32_t>(a.value.hi));
    w.zeros(2);
  } else {
    w.zeros(6);
  }
}

}  // namespace sockswitch::control::openflow
