// flowtable/match_parser.h: the match half of flow text to a Match.
//
// Reading is order-independent: protocol shorthands and dl_type are applied
// first (they decide what `nw_src` means: under arp it is arp_spa, as in
// OVS), then every other field, and only then are prerequisites checked
// against the whole match, so `tp_dst=443,tcp` is as good as `tcp,tp_dst=443`.
//
// Stricter than OVS on purpose: a field whose prerequisite is missing, a
// value out of its field's range and a field given twice are errors, where
// OVS drops, truncates or overwrites. A value with bits outside its mask
// (`nw_src=10.0.0.1/8`) is accepted and masked, as OVS does: that is how CIDR
// is written and the flow still means what the line says.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "flowtable/field_syntax.h"
#include "flowtable/flow_error.h"
#include "flowtable/flow_tokens.h"
#include "flowtable/match.h"
#include "flowtable/port_map.h"

namespace sockswitch::flowtable {

// A protocol shorthand (`tcp`, `arp`, ...): its EtherType and IP protocol.
struct ProtocolShorthand {
  std::string_view name;
  std::uint16_t eth_type;
  std::optional<std::uint8_t> ip_proto;
};
[[nodiscard]] const ProtocolShorthand* find_protocol_shorthand(std::string_view name) noexcept;
// The shorthand naming exactly this eth_type (and ip_proto, when given).
[[nodiscard]] const ProtocolShorthand* shorthand_for(std::uint16_t eth_type,
                                                     std::optional<std::uint8_t> ip_proto) noexcept;

// Parses one field's value (and mask, when `allow_mask` and the field takes
// one) into a Match that holds only that field. Throws ValueError.
[[nodiscard]] Match parse_field_value(const FieldSyntax& field, std::string_view text,
                                      bool allow_mask, PortMap& ports);

// Applies the match tokens (no priority/cookie/table/actions among them) to
// `out`, then checks prerequisites. Throws FlowError.
void parse_match(std::span<const FlowToken> tokens, PortMap& ports, const SourcePos& where,
                 Match& out);

}  // namespace sockswitch::flowtable
