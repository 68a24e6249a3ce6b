// flowtable/subfield.h: a span of a field's bits, as `load:` and `move:` name it.
//
// ovs-ofctl writes `NXM_NX_REG0[]` (the whole field), `NXM_NX_REG0[5]` (one
// bit) and `NXM_NX_REG0[0..15]` (bits 0 to 15, low bit first), with the
// field's NXM/OXM name (NXM_OF_ETH_DST, OXM_OF_METADATA, ...) or its plain
// name (reg0, eth_dst, tcp_src). What a load or move may read and write, and
// what each name needs in the match, lives here beside the names.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "flowtable/action.h"
#include "flowtable/field_syntax.h"
#include "flowtable/flow_key.h"
#include "flowtable/match.h"

namespace sockswitch::flowtable {

struct Subfield {
  FieldId field = FieldId::kCount;
  std::uint8_t ofs = 0;
  std::uint8_t n_bits = 0;
  friend constexpr bool operator==(const Subfield&, const Subfield&) = default;
};

struct SubfieldName {
  std::string_view name;
  FieldId field;
  std::uint8_t bits;  // the field's width as NXM has it
  Prereq prereq;
  bool writable;  // a load or move may write it (it is a register, metadata or a rewritable header)
};

// Throws ValueError naming what is wrong (an unknown field, a range past
// the field's width, a field of more than 64 bits).
[[nodiscard]] Subfield parse_subfield(std::string_view text, const SubfieldName** name = nullptr);

// NXM's name of the field under `ctx` (tp_src is NXM_OF_TCP_SRC under tcp),
// then [], [N] or [A..B].
[[nodiscard]] std::string format_subfield(const Subfield& s, const Match* ctx);

// The bits of `s` within its field's storage value.
[[nodiscard]] constexpr std::uint64_t subfield_mask(const Subfield& s) noexcept {
  const std::uint64_t ones =
      s.n_bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << s.n_bits) - 1;
  return ones << s.ofs;
}

// The value `a.field` has after the load or move `a` runs on `key`: its
// other bits as they were.
[[nodiscard]] constexpr std::uint64_t value_after(const Action& a, const FlowKey& key) noexcept {
  const std::uint64_t bits =
      a.kind == ActionKind::load ? a.value.lo : key.get(a.src_field) >> a.src_ofs;
  const std::uint64_t mask = subfield_mask({a.field, a.ofs, a.n_bits});
  return (key.get(a.field) & ~mask) | ((bits << a.ofs) & mask);
}

}  // namespace sockswitch::flowtable
