// dataplane/header_rewrite.h: the actions that edit a packet's headers.
//
// Each rewrite changes the frame in place, fixes every checksum that covers
// the changed bytes (IPv4 header, TCP/UDP/ICMPv6 pseudo-header, SCTP's
// CRC32c), and updates the packet's FlowKey so that a later lookup in
// another table (resubmit, goto_table) sees the packet as it now is.
//
// The match guaranteed the prerequisites when the flow was parsed (a
// mod_nw_src flow matches IPv4 only), but the frame itself may still be too
// short for the header the key describes (a truncated packet parses as far
// as it is valid). A rewrite that does not fit changes nothing and returns
// false; the caller drops the packet with Drop::bad_edit.
//
// Hot path: noexcept, no allocation. VLAN push/pop move 12 bytes of MAC
// addresses within the headroom rather than the payload.
#pragma once

#include "flowtable/action.h"
#include "flowtable/flow_key.h"
#include "packet/packet.h"

namespace sockswitch::dataplane {

// Applies one header-editing action (mod_*, set_field, strip/push/pop_vlan,
// dec_ttl). Returns false when the edit could not be applied; for dec_ttl
// also when the TTL was 0 or 1 (the caller tells the two apart by the kind).
[[nodiscard]] bool apply_rewrite(const flowtable::Action& action, packet::Packet& packet,
                                 flowtable::FlowKey& key) noexcept;

// Gives the frame's outer 802.1Q tag the VID and priority bits of `tci`,
// pushing a tag when it has none, or removes the tag when `tci` is 0. The
// packet's FlowKey is not touched: NORMAL's per-port tagging (port_vlan.h)
// changes what leaves, not what the flow sees. False when it did not fit.
[[nodiscard]] bool set_outer_tci(packet::Packet& packet, std::uint16_t tci) noexcept;

// CRC32c (Castagnoli) as SCTP uses it; exposed for tests.
[[nodiscard]] std::uint32_t crc32c(const std::uint8_t* data, std::size_t length) noexcept;

}  // namespace sockswitch::dataplane
