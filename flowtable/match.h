// flowtable/match.h: the match half of a flow, a value under a mask.
//
// Invariant: value & mask == value, so two matches compare equal exactly when
// they match the same packets in the same way (the basis of strict
// modify/delete and of the classifier's subtable keys).
#pragma once

#include "flowtable/flow_key.h"

namespace sockswitch::flowtable {

struct Match {
  FlowKey value;
  FlowMask mask;

  // Sets (part of) a field: bits outside `m` are left as they were.
  constexpr void set_masked(FieldId f, std::uint64_t v, std::uint64_t m) noexcept {
    const std::uint64_t old_v = value.get(f), old_m = mask.get(f);
    mask.set(f, old_m | m);
    value.set(f, (old_v & ~m) | (v & m));
  }
  constexpr void set_exact(FieldId f, std::uint64_t v) noexcept {
    set_masked(f, v, ~std::uint64_t{0});
  }
  constexpr void set_wide_masked(FieldId f, Wide v, Wide m) noexcept {
    const Wide old_v = value.get_wide(f), old_m = mask.get_wide(f);
    mask.set_wide(f, {old_m.hi | m.hi, old_m.lo | m.lo});
    value.set_wide(f, {(old_v.hi & ~m.hi) | (v.hi & m.hi), (old_v.lo & ~m.lo) | (v.lo & m.lo)});
  }

  // Whether the field is (at least partly) constrained.
  [[nodiscard]] constexpr bool has(FieldId f) const noexcept {
    const FieldLayout& l = layout_of(f);
    if (l.bits == 128) return mask.w[l.word] || mask.w[l.word + 1];
    return mask.get(f) != 0;
  }
  // Whether the field is matched on every bit against exactly v.
  [[nodiscard]] constexpr bool is_exact(FieldId f, std::uint64_t v) const noexcept {
    const FieldLayout& l = layout_of(f);
    const std::uint64_t all = l.bits >= 64 ? ~std::uint64_t{0} : (std::uint64_t{1} << l.bits) - 1;
    return mask.get(f) == all && value.get(f) == v;
  }

  [[nodiscard]] constexpr bool matches(const FlowKey& k) const noexcept {
    for (std::size_t i = 0; i < kKeyWords; ++i)
      if ((k.w[i] & mask.w[i]) != value.w[i]) return false;
    return true;
  }

  friend constexpr bool operator==(const Match&, const Match&) = default;
};

}  // namespace sockswitch::flowtable
