// control/openflow/ofp_reg_actions.cc: NXM headers to subfields and back.
#include "control/openflow/ofp_reg_actions.h"

#include <fmt/format.h>

#include "control/openflow/ofp_set_field.h"
#include "control/openflow/ofp_tlv_fields.h"
#include "flowtable/subfield.h"
#include "flowtable/value_text.h"

namespace sockswitch::control::openflow {
namespace {

using flowtable::Action;
using flowtable::ActionKind;
using flowtable::Subfield;

// The subfield `header`[ofs, +n_bits), checked as flow text checks it.
Subfield subfield_of(std::uint32_t header, unsigned ofs, unsigned n_bits, bool write,
                     const flowtable::Match& match, const flowtable::SubfieldName** name) {
  const TlvField* f = find_tlv(static_cast<std::uint16_t>(header >> 16),
                               static_cast<std::uint8_t>(header >> 9 & 0x7f));
  // The whole header names the field, as in OVS: a wrong length or the mask
  // bit is another (unknown) field. decode_reg_load tells a whole-field load
  // by the length, so one accepted here with another length would decode as
  // a load that encodes back as the set_field.
  if (f == nullptr || (header & 0x1ff) != f->len)
    refuse(OfpCode::action_bad_argument,
           fmt::format("field header {:#010x} is not supported", header));
  if (n_bits == 0 || ofs + n_bits > f->len * 8u)
    refuse(OfpCode::action_bad_argument,
           fmt::format("bits {}..{} of {} are outside it", ofs, ofs + n_bits - 1, f->name));
  Subfield s;
  try {
    s = flowtable::parse_subfield(fmt::format("{}[{}..{}]", f->name, ofs, ofs + n_bits - 1), name);
  } catch (const flowtable::ValueError& e) {
    refuse(OfpCode::action_bad_argument, e.what());
  }
  if (write && !(*name)->writable)
    refuse(OfpCode::action_bad_argument, fmt::format("{} cannot be written", f->name));
  if (!flowtable::prereq_met(match, (*name)->prereq))
    refuse(
        OfpCode::action_match_inconsistent,
        fmt::format("{} needs {} in the match", f->name, flowtable::prereq_text((*name)->prereq)));
  return s;
}

// The NXM header that names `field` under `match` (tcp_src or udp_src for tp_src).
std::uint32_t header_of(flowtable::FieldId field, const flowtable::Match& match) {
  const TlvField* f = tlv_storing(field, match);
  if (f == nullptr)  // cannot happen: parsing checked the prerequisites
    refuse(OfpCode::action_bad_argument, "a load/move field without a header");
  return std::uint32_t{f->cls} << 16 | std::uint32_t{f->field} << 9 | f->len;
}

}  // namespace

Action decode_reg_load(WireReader& r, const flowtable::Match& match) {
  const std::uint16_t ofs_nbits = r.u16();
  const std::uint32_t dst = r.u32();
  const std::uint64_t value = r.u64();
  const unsigned ofs = ofs_nbits >> 6, n_bits = (ofs_nbits & 0x3f) + 1u;
  const unsigned bytes = dst & 0xff;
  if (ofs == 0 && n_bits == bytes * 8u) {
    // The whole field: the set_field it means (with set_field's checks).
    WireWriter tlv;
    tlv.u32(dst);
    tlv.be(value, bytes);
    WireReader tr(tlv.bytes());
    return decode_set_field(tr, match);
  }
  const flowtable::SubfieldName* name = nullptr;
  const Subfield s = subfield_of(dst, ofs, n_bits, true, match, &name);
  if (n_bits < 64 && value >> n_bits)
    refuse(OfpCode::action_bad_argument,
           fmt::format("load: {:#x} does not fit {} bits", value, n_bits));
  Action a;
  a.kind = ActionKind::load;
  a.field = s.field;
  a.ofs = s.ofs;
  a.n_bits = s.n_bits;
  a.value.lo = value;
  return a;
}

Action decode_reg_move(WireReader& r, const flowtable::Match& match) {
  const std::uint16_t n_bits = r.u16(), src_ofs = r.u16(), dst_ofs = r.u16();
  const std::uint32_t src = r.u32(), dst = r.u32();
  const flowtable::SubfieldName* name = nullptr;
  const Subfield from = subfield_of(src, src_ofs, n_bits, false, match, &name);
  const Subfield to = subfield_of(dst, dst_ofs, n_bits, true, match, &name);
  Action a;
  a.kind = ActionKind::move;
  a.field = to.field;
  a.ofs = to.ofs;
  a.n_bits = to.n_bits;
  a.src_field = from.field;
  a.src_ofs = from.ofs;
  return a;
}

void encode_reg_body(WireWriter& w, const Action& a, const flowtable::Match& match) {
  if (a.kind == ActionKind::load) {
    w.u16(static_cast<std::uint16_t>(a.ofs << 6 | (a.n_bits - 1)));
    w.u32(header_of(a.field, match));
    w.u64(a.value.lo);
    return;
  }
  w.u16(a.n_bits);
  w.u16(a.src_ofs);
  w.u16(a.ofs);
  w.u32(header_of(a.src_field, match));
  w.u32(header_of(a.field, match));
}

}  // namespace sockswitch::control::openflow
