// tests/dataplane/key_diff.h: names the fields in which two flow keys differ.
//
// Comparing whole keys catches stray fields; this turns a mismatch into
// "ip_frag: got 0x1 want 0x3" rather than two dumps of 18 words.
#pragma once

#include <fmt/format.h>

#include <string>

#include "flowtable/flow_key.h"

namespace sockswitch::dataplane::test {

inline std::string key_diff(const flowtable::FlowKey& got, const flowtable::FlowKey& want) {
  std::string out;
  for (const flowtable::FieldLayout& l : flowtable::kFieldLayouts) {
    if (l.bits == 128) {
      const flowtable::Wide g = got.get_wide(l.id), w = want.get_wide(l.id);
      if (g != w)
        out += fmt::format("{}: got {:016x}{:016x} want {:016x}{:016x}\n", l.name, g.hi, g.lo, w.hi,
                           w.lo);
    } else if (got.get(l.id) != want.get(l.id)) {
      out += fmt::format("{}: got {:#x} want {:#x}\n", l.name, got.get(l.id), want.get(l.id));
    }
  }
  // Bits outside every field must stay 0 too.
  if (out.empty() && got != want) out = "bits outside the field layout differ\n";
  return out;
}

}  // namespace sockswitch::dataplane::test
