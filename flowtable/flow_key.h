// flowtable/flow_key.h: the packet header fields a flow can match, as words.
//
// A FlowKey is what the dataplane extracts from a packet and what a flow's
// match compares against. It is a fixed array of 64-bit words rather than a
// struct of named members so that masking, hashing and comparing are loops
// over words: a classifier subtable touches only the words its mask uses,
// and a megaflow is simply key & mask.
//
// Values are stored as host-order integers (an IPv4 address 10.0.0.1 is
// 0x0a000001), each field at a fixed bit span of one word. 128-bit fields
// (IPv6 addresses, ND target) take two whole words, high half first.
//
// The hot fields sit in the first five words so that the common IPv4 cases
// hash a single cache line.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sockswitch::flowtable {

inline constexpr std::size_t kKeyWords = 20;

// Storage fields. Syntax aliases (dl_vlan, ip_dscp, icmp_type, arp_spa, ...)
// are views onto these and live with the parser, not here.
enum class FieldId : std::uint8_t {
  in_port,     // 32 bits: OpenFlow port number
  eth_type,    // 16 bits: after VLAN tags
  vlan_tci,    // 16 bits: PCP(3) CFI(1) VID(12); CFI set means "tagged", 0 means no tag
  eth_src,     // 48 bits
  ip_proto,    // 8 bits; for ARP: the low byte of the opcode (as OVS)
  ip_tos,      // 8 bits: DSCP << 2 | ECN
  eth_dst,     // 48 bits
  ip_ttl,      // 8 bits; IPv6 hop limit
  ip_frag,     // 2 bits: bit0 = is a fragment, bit1 = later fragment
  ipv4_src,    // 32 bits; for ARP: SPA
  ipv4_dst,    // 32 bits; for ARP: TPA
  tp_src,      // 16 bits; for ICMP/ICMPv6: type
  tp_dst,      // 16 bits; for ICMP/ICMPv6: code
  tcp_flags,   // 12 bits
  ipv6_label,  // 20 bits
  metadata,    // 64 bits
  reg0,
  reg1,
  reg2,
  reg3,
  reg4,
  reg5,
  reg6,
  reg7,       // 32 bits each
  ipv6_src,   // 128 bits
  ipv6_dst,   // 128 bits
  nd_target,  // 128 bits
  arp_sha,    // 48 bits; ND: source link-layer address option
  arp_tha,    // 48 bits; ND: target link-layer address option
  // Connection tracking (conntrack.h): 0 until a ct() action has looked the
  // packet up, so a packet from a port is untracked (-trk) everywhere.
  ct_state,  // 8 bits: kCtState* below
  ct_zone,   // 16 bits
  ct_mark,   // 32 bits
  kCount
};

inline constexpr std::size_t kFieldCount = static_cast<std::size_t>(FieldId::kCount);

// Where a field lives: bits [shift, shift + bits) of word `word`, or, for a
// 128-bit field, all of words `word` (high) and `word + 1` (low).
struct FieldLayout {
  FieldId id;
  std::string_view name;  // canonical OXM-style name
  std::uint8_t word;
  std::uint8_t shift;
  std::uint8_t bits;
};

// clang-format off
inline constexpr std::array<FieldLayout, kFieldCount> kFieldLayouts{{
    {FieldId::in_port,    "in_port",    0,  0, 32},
    {FieldId::eth_type,   "eth_type",   0, 32, 16},
    {FieldId::vlan_tci,   "vlan_tci",   0, 48, 16},
    {FieldId::eth_src,    "eth_src",    1,  0, 48},
    {FieldId::ip_proto,   "ip_proto",   1, 48,  8},
    {FieldId::ip_tos,     "ip_tos",     1, 56,  8},
    {FieldId::eth_dst,    "eth_dst",    2,  0, 48},
    {FieldId::ip_ttl,     "ip_ttl",     2, 48,  8},
    {FieldId::ip_frag,    "ip_frag",    2, 56,  2},
    {FieldId::ipv4_src,   "ipv4_src",   3,  0, 32},
    {FieldId::ipv4_dst,   "ipv4_dst",   3, 32, 32},
    {FieldId::tp_src,     "tp_src",     4,  0, 16},
    {FieldId::tp_dst,     "tp_dst",     4, 16, 16},
    {FieldId::tcp_flags,  "tcp_flags",  4, 32, 12},
    {FieldId::ipv6_label, "ipv6_label", 4, 44, 20},
    {FieldId::metadata,   "metadata",  18,  0, 64},
    {FieldId::reg0,       "reg0",       6,  0, 32},
    {FieldId::reg1,       "reg1",       6, 32, 32},
    {FieldId::reg2,       "reg2",       7,  0, 32},
    {FieldId::reg3,       "reg3",       7, 32, 32},
    {FieldId::reg4,       "reg4",       8,  0, 32},
    {FieldId::reg5,       "reg5",       8, 32, 32},
    {FieldId::reg6,       "reg6",       9,  0, 32},
    {FieldId::reg7,       "reg7",       9, 32, 32},
    {FieldId::ipv6_src,   "ipv6_src",  10,  0, 128},
    {FieldId::ipv6_dst,   "ipv6_dst",  12,  0, 128},
    {FieldId::nd_target,  "nd_target", 14,  0, 128},
    {FieldId::arp_sha,    "arp_sha",   16,  0, 48},
    {FieldId::arp_tha,    "arp_tha",   17,  0, 48},
    // Right after the hot words: a tracked IPv4 key still ends at word 5,
    // so the caches of later tables compare six words, not nineteen.
    {FieldId::ct_state,   "ct_state",   5,  0,  8},
    {FieldId::ct_zone,    "ct_zone",    5,  8, 16},
    {FieldId::ct_mark,    "ct_mark",    5, 24, 32},
    // word 19 is unused: the probe plan walks words in pairs.
}};
// clang-format on

[[nodiscard]] constexpr const FieldLayout& layout_of(FieldId f) noexcept {
  return kFieldLayouts[static_cast<std::size_t>(f)];
}

// A 128-bit value: hi holds the first 8 bytes in network order.
struct Wide {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;
  friend constexpr bool operator==(const Wide&, const Wide&) = default;
};

// Shared by FlowKey and FlowMask: a fixed set of words with field access.
struct FieldWords {
  std::array<std::uint64_t, kKeyWords> w{};

  [[nodiscard]] constexpr std::uint64_t get(FieldId f) const noexcept {
    const FieldLayout& l = layout_of(f);
    if (l.bits >= 64) return w[l.word];
    return (w[l.word] >> l.shift) & ((std::uint64_t{1} << l.bits) - 1);
  }
  constexpr void set(FieldId f, std::uint64_t v) noexcept {
    const FieldLayout& l = layout_of(f);
    if (l.bits >= 64) {
      w[l.word] = v;
      return;
    }
    const std::uint64_t m = ((std::uint64_t{1} << l.bits) - 1) << l.shift;
    w[l.word] = (w[l.word] & ~m) | ((v << l.shift) & m);
  }
  [[nodiscard]] constexpr Wide get_wide(FieldId f) const noexcept {
    const FieldLayout& l = layout_of(f);
    return {w[l.word], w[l.word + 1]};
  }
  constexpr void set_wide(FieldId f, Wide v) noexcept {
    const FieldLayout& l = layout_of(f);
    w[l.word] = v.hi;
    w[l.word + 1] = v.lo;
  }
  friend constexpr bool operator==(const FieldWords&, const FieldWords&) = default;
};

// The header values of one packet (or the value half of a match).
struct FlowKey : FieldWords {};

// Which bits of a FlowKey matter. A set bit is "must equal".
struct FlowMask : FieldWords {
  [[nodiscard]] constexpr bool empty() const noexcept {
    for (std::uint64_t x : w)
      if (x) return false;
    return true;
  }
  // True when every bit this mask sets is also set in `other`.
  [[nodiscard]] constexpr bool subset_of(const FlowMask& other) const noexcept {
    for (std::size_t i = 0; i < kKeyWords; ++i)
      if (w[i] & ~other.w[i]) return false;
    return true;
  }
  constexpr FlowMask& operator|=(const FlowMask& o) noexcept {
    for (std::size_t i = 0; i < kKeyWords; ++i)
      w[i] |= o.w[i];
    return *this;
  }
};

[[nodiscard]] constexpr FlowKey masked(const FlowKey& k, const FlowMask& m) noexcept {
  FlowKey out;
  for (std::size_t i = 0; i < kKeyWords; ++i)
    out.w[i] = k.w[i] & m.w[i];
  return out;
}

// The mask with every bit of field f set.
[[nodiscard]] constexpr FlowMask full_mask(FieldId f) noexcept {
  FlowMask m;
  const FieldLayout& l = layout_of(f);
  if (l.bits == 128) {
    m.w[l.word] = m.w[l.word + 1] = ~std::uint64_t{0};
  } else {
    m.set(f, ~std::uint64_t{0});
  }
  return m;
}

// Well-known EtherTypes and IP protocol numbers used by prerequisites.
inline constexpr std::uint16_t kEthTypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEthTypeArp = 0x0806;
inline constexpr std::uint16_t kEthTypeRarp = 0x8035;
inline constexpr std::uint16_t kEthTypeVlan = 0x8100;
inline constexpr std::uint16_t kEthTypeQinQ = 0x88a8;
inline constexpr std::uint16_t kEthTypeIpv6 = 0x86dd;
inline constexpr std::uint8_t kIpProtoIcmp = 1;
inline constexpr std::uint8_t kIpProtoTcp = 6;
inline constexpr std::uint8_t kIpProtoUdp = 17;
inline constexpr std::uint8_t kIpProtoIcmpv6 = 58;
inline constexpr std::uint8_t kIpProtoSctp = 132;
inline constexpr std::uint16_t kVlanCfi = 0x1000;

// ct_state bits, as OVS numbers them (ovs-fields(7)).
inline constexpr std::uint8_t kCtStateNew = 0x01;
inline constexpr std::uint8_t kCtStateEstablished = 0x02;
inline constexpr std::uint8_t kCtStateRelated = 0x04;
inline constexpr std::uint8_t kCtStateReply = 0x08;
inline constexpr std::uint8_t kCtStateInvalid = 0x10;
inline constexpr std::uint8_t kCtStateTracked = 0x20;
inline constexpr std::uint8_t kCtStateSrcNat = 0x40;
inline constexpr std::uint8_t kCtStateDstNat = 0x80;

}  // namespace sockswitch::flowtable
