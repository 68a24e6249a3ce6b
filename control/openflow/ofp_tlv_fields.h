// control/openflow/ofp_tlv_fields.h: the NXM/OXM field table: for each
// TLV header, the flow-table field it is, how its value maps onto storage,
// and what the rest of the match must say for it to make sense.
//
// One table serves matches (ofp_match), set_field actions (ofp_set_field)
// and TABLE_FEATURES; NXM and OXM headers are both accepted everywhere, as
// OVS does.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "control/openflow/ofp_wire.h"
#include "flowtable/field_syntax.h"
#include "flowtable/match.h"

namespace sockswitch::control::openflow {

inline constexpr std::uint16_t kNxmOf = 0x0000, kNxmNx = 0x0001, kOxm = 0x8000;
inline constexpr std::uint16_t kVlanCfi = 0x1000;

// How a TLV's value maps onto its storage field.
enum class Conv : std::uint8_t {
  plain,     // the value is the storage value (right-aligned)
  port16,    // 1.0 port number
  port32,    // 1.3 port number
  tos_dscp,  // NXM_OF_IP_TOS: the TOS byte's DSCP bits (low two bits zero)
  dscp6,     // OXM IP_DSCP: six bits, stored shifted left by two
  ecn,       // two bits, the low bits of ip_tos
  vid13,     // OXM VLAN_VID: VID with OFPVID_PRESENT (0x1000), the TCI's low 13 bits
  pcp3,      // OXM VLAN_PCP: the TCI's top three bits (a tag present)
  arp_op16,  // ARP opcode: 16 bits on the wire, the low byte in storage
};

struct TlvField {
  std::uint16_t cls;
  std::uint8_t field;
  std::uint8_t len;
  bool maskable;
  flowtable::FieldId storage;
  Conv conv;
  flowtable::Prereq prereq;
  bool icmp4 = false;  // needs ip + icmp exactly (our Prereq::icmp_any also takes icmp6)
  bool writable = true;
  std::string_view name;
};

[[nodiscard]] const TlvField* find_tlv(std::uint16_t cls, std::uint8_t field) noexcept;
// The entry with that name, preferring OXM headers when `oxm` and NXM ones
// otherwise. Throws std::logic_error for a name the table lacks.
[[nodiscard]] const TlvField& tlv_named(std::string_view name, bool oxm);
[[nodiscard]] constexpr std::uint64_t all_ones(unsigned bytes) noexcept {
  return bytes >= 8 ? ~std::uint64_t{0} : (std::uint64_t{1} << (8 * bytes)) - 1;
}
[[nodiscard]] bool needs_met(const TlvField& f, const flowtable::Match& m) noexcept;
// The entry that stores into `field` and whose prerequisites `m` meets
// (tcp_src or udp_src for tp_src), NXM before OXM; nullptr if none.
[[nodiscard]] const TlvField* tlv_storing(flowtable::FieldId field,
                                          const flowtable::Match& m) noexcept;

// Storage value and mask for a wire value and mask (fields up to 8 bytes).
// Throws OfpError (match_bad_value) for a value its field cannot hold.
struct Stored {
  std::uint64_t value, mask;
};
[[nodiscard]] Stored to_storage(const TlvField& f, std::uint64_t v, std::optional<std::uint64_t> m);

struct TlvHeader {
  std::uint16_t cls;
  std::uint8_t field;
  bool has_mask;
  std::uint8_t len;
};
[[nodiscard]] TlvHeader read_header(WireReader& r);
void write_header(WireWriter& w, const TlvField& f, bool masked);

// The TLV headers (unmasked form) of every field a match may use, and of
// every field a set_field may write: what TABLE_FEATURES tells a client.
[[nodiscard]] std::vector<std::uint32_t> match_field_headers();
[[nodiscard]] std::vector<std::uint32_t> writable_field_headers();

}  // namespace sockswitch::control::openflow
