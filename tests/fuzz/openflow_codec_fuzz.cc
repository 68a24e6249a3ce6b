// tests/fuzz/openflow_codec_fuzz.cc: OpenFlow matches and actions from
// hostile bytes. The first byte picks what the rest is: an NXM/OXM match,
// a 1.0 fixed match, or 1.0 / 1.3 actions after a match. Anything must
// either be refused with an OfpError or decode to a flow that encodes and
// decodes again to itself (decode -> encode -> decode is stable).
#include <cstdint>
#include <cstdlib>
#include <span>

#include "control/openflow/ofp_actions.h"
#include "control/openflow/ofp_match.h"

namespace of = sockswitch::control::openflow;
namespace ft = sockswitch::flowtable;

namespace {

// 1.3 carries mod_dl_src and friends as SET_FIELD: compare them as such.
ft::ActionList as_set_fields(ft::ActionList actions) {
  for (ft::Action& a : actions)
    if (a.kind == ft::ActionKind::mod_dl_src || a.kind == ft::ActionKind::mod_dl_dst ||
        a.kind == ft::ActionKind::mod_nw_src || a.kind == ft::ActionKind::mod_nw_dst ||
        a.kind == ft::ActionKind::mod_tp_src || a.kind == ft::ActionKind::mod_tp_dst)
      a.kind = ft::ActionKind::set_field;
  return actions;
}

void check_match(const ft::Match& m) {
  for (const bool oxm : {false, true}) {
    of::WireWriter w;
    of::encode_tlv_match(w, m, oxm);
    if (!(of::decode_tlv_match(w.bytes()) == m)) std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t mode = data[0] % 4;
  const std::span<const std::uint8_t> rest(data + 1, size - 1);
  try {
    if (mode == 0) {
      check_match(of::decode_tlv_match(rest));
      return 0;
    }
    if (mode == 1) {
      of::WireReader r(rest);
      check_match(of::decode_ofp10_match(r));
      return 0;
    }
    // Actions after a match: the first byte of `rest` is the match's length.
    const std::size_t match_len = std::min<std::size_t>(rest[0], rest.size() - 1);
    ft::FlowRule rule;
    rule.table = static_cast<std::uint8_t>(match_len % 4);
    rule.match = of::decode_tlv_match(rest.subspan(1, match_len));
    of::WireReader r(rest.subspan(1 + match_len));
    const std::uint8_t version = mode == 2 ? of::kVersion10 : of::kVersion13;
    rule.actions = version == of::kVersion10 ? of::decode_actions(r, version, rule)
                                             : of::decode_instructions(r, rule);
    of::WireWriter w;
    of::encode_actions(w, rule.actions, version, rule.match);
    of::WireReader again(w.bytes());
    const ft::ActionList back = version == of::kVersion10 ? of::decode_actions(again, version, rule)
                                                          : of::decode_instructions(again, rule);
    if (version == of::kVersion13 && as_set_fields(back) != as_set_fields(rule.actions))
      std::abort();
    if (version == of::kVersion10 && back != rule.actions) std::abort();
  } catch (const of::OfpError&) {
    // Refused: the only other outcome allowed.
  }
  return 0;
}
