// control/openflow/ofp_match.h: matches on the wire, to and from the flow
// table's Match.
//
// Three encodings: OpenFlow 1.0's fixed 40-byte match (wildcard bits), and
// the TLV lists NXM (OpenFlow 1.0 with Nicira extensions) and OXM (1.3),
// which share one layout and one field table. A TLV match is held to the
// same rules as flow text: a field without its prerequisite, a duplicate, a
// value outside its field or its mask is refused (OfpError), never dropped
// or truncated. OpenFlow 1.0's fixed match is the one exception, because
// its own specification says so: fields that do not apply to the packet's
// protocol are ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "control/openflow/ofp_wire.h"
#include "flowtable/match.h"
#include "flowtable/port_no.h"

namespace sockswitch::control::openflow {

// Port numbers: 1.0 has 16 bits (reserved ports at 0xfff8..0xffff, as ours),
// 1.3 has 32 (0xfffffff8..). Unknown or out-of-range numbers give nullopt.
[[nodiscard]] std::optional<flowtable::PortNo> port_from_wire(std::uint32_t p,
                                                              std::uint8_t version) noexcept;
[[nodiscard]] std::uint32_t port_to_wire(flowtable::PortNo p, std::uint8_t version) noexcept;
// OFPP_ANY (1.3) / OFPP_NONE (1.0): "no port" in out_port fields.
[[nodiscard]] constexpr std::uint32_t any_port(std::uint8_t version) noexcept {
  return version == kVersion10 ? 0xffff : 0xffffffff;
}

// OpenFlow 1.0's fixed match, normalized as 1.0 defines it.
[[nodiscard]] flowtable::Match decode_ofp10_match(WireReader& r);

// `m` as OpenFlow 1.0's fixed match, when it can say it (false: a field or
// mask 1.0 lacks; nothing is written then).
bool encode_ofp10_match(WireWriter& w, const flowtable::Match& m);

// OpenFlow 1.3's ofp_match structure (type OXM, length, the TLVs, padding
// to 8 bytes), read and written whole.
[[nodiscard]] flowtable::Match decode_oxm_match(WireReader& r);
void encode_oxm_match(WireWriter& w, const flowtable::Match& m);

// A TLV list (the bytes of the fields only, no padding).
[[nodiscard]] flowtable::Match decode_tlv_match(std::span<const std::uint8_t> tlvs);
// Writes `m` as TLVs (NXM headers where a field has one when `oxm` is
// false, OXM where it has one when true); returns the bytes written.
std::size_t encode_tlv_match(WireWriter& w, const flowtable::Match& m, bool oxm);

}  // namespace sockswitch::control::openflow
